"""Pixel equality of an export before and after `python cli.py export --upgrade`: every signature of OLD called with
the same inputs as NEW's (generators: N seeds over every class of every condition; CycleGAN: real photos of any
size, as uint8 tensors and as JPEG bytes), and the metadata signatures read both ways.

    python benchmarks/upgrade_parity.py OLD_VERSION_DIR NEW_VERSION_DIR [--photos DIR] [--n 256]

Prints one JSON line: per signature, the images compared and how many pixels differ (0 = bit for bit)."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np


def main():
    import tensorflow as tf

    from keras_gans.export.savedmodel import read_json_signature

    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("old")
    ap.add_argument("new")
    ap.add_argument("--photos", help="folder of photos for a CycleGAN export")
    ap.add_argument("--n", type=int, default=256)
    args = ap.parse_args()
    old, new = tf.saved_model.load(args.old).signatures, tf.saved_model.load(args.new).signatures
    report = {"old": args.old, "new": args.new, "signatures_old": sorted(old), "signatures_new": sorted(new)}
    for meta in ("conditions", "directions"):
        if meta in old:
            report[f"{meta}_equal"] = read_json_signature(old, meta) == read_json_signature(new, meta)
    metas = read_json_signature(new, "conditions") or []
    n = args.n
    labels = {}
    for i, m in enumerate(metas):
        k = len(m["classes"])
        labels[m["name"]] = (np.arange(n) // (i + 1) % k).astype(np.int32) if m["type"] == "softmax" else (
            np.random.default_rng(i).random((n, k)) < 0.5).astype(np.float32)
    diffs = {}
    if "generate" in old:
        kw = {"seed": tf.range(n, dtype=tf.int64), **{k: tf.constant(v) for k, v in labels.items()}}
        a, b = old["generate"](**kw), new["generate"](**kw)
        diffs["generate.images"] = [n, int((a["images"].numpy() != b["images"].numpy()).sum())]
        diffs["generate.image_bytes"] = [n, int((a["image_bytes"].numpy() != b["image_bytes"].numpy()).sum())]
        z = tf.random.stateless_normal([n, int(old["serving_default"].structured_input_signature[1]["z"].shape[-1])],
                                       seed=[4, 2])
        kw = {"z": z, **{k: tf.constant(v) for k, v in labels.items()}}
        a, b = old["serving_default"](**kw)["images"].numpy(), new["serving_default"](**kw)["images"].numpy()
        diffs["serving_default.images"] = [n, int((a != b).sum())]
    for d in ("a2b", "b2a"):
        if d not in old or not args.photos:
            continue
        files = sorted(p for p in Path(args.photos).iterdir() if p.suffix.lower() in (".jpg", ".jpeg", ".png"))[:32]
        count = same = 0
        for f in files:
            data = f.read_bytes()
            img = tf.io.decode_image(data, channels=3, expand_animations=False)[None]
            a, b = old[d](images=img)["images"].numpy(), new[d](images=img)["images"].numpy()
            pa = old[f"{d}_bytes"](image_bytes=tf.constant([data]))["image_bytes"].numpy()
            pb = new[f"{d}_bytes"](image_bytes=tf.constant([data]))["image_bytes"].numpy()
            count += 1
            same += int(np.array_equal(a, b) and pa[0] == pb[0])
        diffs[d] = {"photos": count, "equal_tensor_and_png": same}
    report["differing_pixels"] = diffs
    print(json.dumps(report))


if __name__ == "__main__":
    main()
