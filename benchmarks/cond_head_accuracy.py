"""Accuracy of an ACGAN run's auxiliary heads on its own generated images: for balanced requested labels, the
fraction D's head assigns to the requested class (softmax) or the top-k recall of the requested set (sigmoid),
and the same on the real training images for reference.

    python benchmarks/cond_head_accuracy.py RUN_DIR [--n 1200]
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("run")
    ap.add_argument("--n", type=int, default=1200)
    a = ap.parse_args()

    import numpy as np
    import tensorflow as tf

    from keras_gans.training.build import load_run
    from keras_gans.training.driver import prepare

    cfg, model, epoch = load_run(a.run)
    if model.mode != "acgan":
        raise SystemExit("this run has no auxiliary heads (conditional.mode is not acgan)")

    def head_acc(images_u8, labels):
        accs = {h.name: [] for h in model.heads}
        for s in range(0, len(images_u8), 200):
            x = tf.constant(images_u8[s : s + 200], tf.float32) / 127.5 - 1.0
            part = {k: tf.constant(v[s : s + 200]) for k, v in labels.items()}
            out = model.discriminate(x, part, training=False)
            for h in model.heads:
                accs[h.name].append(model.head_accuracy(h, out[h.name], part[h.name]).numpy())
        return {k: float(np.mean(np.concatenate(v))) for k, v in accs.items()}

    images, labels = model.evaluation_samples(a.n, seed=20)  # latent seeds 2,000,000+i: those of the documented numbers
    fake = head_acc(images, labels)
    _, arrays, _ = prepare(cfg)
    idx = np.random.default_rng(0).permutation(len(arrays["image"]))[: a.n]
    real = head_acc(arrays["image"][idx], {h.name: arrays[h.name][idx] for h in model.heads})
    print(f"run {a.run} (epoch {epoch}), {a.n} images each")
    for h in model.heads:
        print(f"  {h.name}: D head accuracy on generated {fake[h.name]:.3f}, on real {real[h.name]:.3f} ({h.k} classes)")


if __name__ == "__main__":
    main()
