"""How close the ONNX and LiteRT files are to the SavedModel they were made from, on many inputs: the shipped acgan
(`serving_default` on N seeds' z, classes cycling over hair and eyes) and ukiyoe (`b2a` on the test photos resized
to its 64 px working size; files converted into a temporary copy when not shipped).

    python benchmarks/format_parity.py [--n 256]

Prints one JSON line per model: per format, the largest difference (uint8 levels) and the share of values that
differ at all. Writes benchmarks/results/format_parity.json."""

from __future__ import annotations

import argparse
import json
import shutil
import tempfile
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]


def main():
    import tensorflow as tf

    from keras_gans.export.formats import run_file, write_formats
    from keras_gans.models.latent import seeds_to_latent

    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--n", type=int, default=256)
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp())
    report = {}
    try:
        for name, sig_name in (("acgan", "serving_default"), ("ukiyoe", "b2a")):
            version = REPO / "saved_models" / name / "1"
            if not (version / f"{sig_name}.onnx").is_file() or not (version / f"{sig_name}.tflite").is_file():
                shutil.copytree(version, tmp / name)
                version = tmp / name
                write_formats(version, ["onnx", "litert"])
            sig = tf.saved_model.load(str(version)).signatures[sig_name]
            if name == "acgan":
                n = args.n
                inputs = {"z": seeds_to_latent(tf.range(n, dtype=tf.int64), 100).numpy(),
                          "hair": np.arange(n, dtype=np.int32) % 12, "eyes": np.arange(n, dtype=np.int32) % 11}
            else:
                photos = sorted((REPO.parent / "shared" / "data" / "ukiyoe2photo" / "testB").glob("*.jpg"))
                inputs = {"images": np.stack([tf.image.resize(tf.io.decode_jpeg(p.read_bytes(), channels=3), [64, 64],
                                                              antialias=True).numpy().round().clip(0, 255)
                                              .astype(np.uint8) for p in photos])}
            want = next(iter(sig(**{k: tf.constant(v) for k, v in inputs.items()}).values())).numpy().astype(int)
            row = {"images": int(len(want))}
            for fmt, ext in (("onnx", ".onnx"), ("litert", ".tflite")):
                diff = np.abs(run_file(version / f"{sig_name}{ext}", fmt, inputs).astype(int) - want)
                row[fmt] = {"max_levels": int(diff.max()), "share_differing": float((diff > 0).mean())}
            report[name] = row
            print(name, json.dumps(row))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    out = REPO / "benchmarks" / "results" / "format_parity.json"
    out.write_text(json.dumps(report, indent=1))


if __name__ == "__main__":
    main()
