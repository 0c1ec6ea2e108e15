"""Sanity check of the classifier-feature FID on real digits: real vs real << 1-epoch DCGAN << random noise.

    python cli.py train-classifier --data ../shared/data/mnist-test-png --out clf.keras
    python cli.py train dcgan --data ../shared/data/mnist-test-png --epochs 1 --run-dir runs/dcgan-1ep
    python benchmarks/eval_digits_fid.py --data ../shared/data/mnist-test-png --classifier clf.keras --run runs/dcgan-1ep

The real digits are split at random into two halves A and B (5,000 each); A is the reference for all three.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np  # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", required=True)
    ap.add_argument("--classifier", required=True)
    ap.add_argument("--run", required=True)
    ap.add_argument("--n", type=int, default=5000)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--json", help="also write the numbers here")
    a = ap.parse_args()

    from keras_gans.data.source import load_folder
    from keras_gans.metrics.features import get_extractor
    from keras_gans.metrics.fid import fid_from_features
    from keras_gans.metrics.kid import kid
    from keras_gans.training.build import load_run

    ext = get_extractor(a.classifier)
    cfg, model, epoch = load_run(a.run)
    size, ch = int(model.image_shape[0]), int(model.image_shape[-1])
    real = load_folder(a.data, size, ch, progress=False).images
    perm = np.random.default_rng(a.seed).permutation(len(real))
    half = min(a.n, len(real) // 2)
    fa = ext.features(real[perm[:half]])
    fb = ext.features(real[perm[half : 2 * half]])
    fake, _ = model.evaluation_samples(half, seed=10 * a.seed)  # latent seeds a.seed*1,000,000+i, as documented
    ff = ext.features(fake)
    noise = np.random.default_rng(a.seed + 1).integers(0, 256, size=(half, size, size, ch), dtype=np.uint8)
    fn = ext.features(noise)
    out = {
        "features": ext.describe(), "n_per_set": half, "seed": a.seed, "dcgan_run": a.run, "dcgan_epoch": epoch,
        "fid_real_vs_real": fid_from_features(fa, fb),
        "fid_dcgan_vs_real": fid_from_features(fa, ff),
        "fid_noise_vs_real": fid_from_features(fa, fn),
        "kid_real_vs_real": kid(fa, fb, subsets=50)[0],
        "kid_dcgan_vs_real": kid(fa, ff, subsets=50)[0],
        "kid_noise_vs_real": kid(fa, fn, subsets=50)[0],
    }
    for k, v in out.items():
        if k.startswith(("fid", "kid")):
            print(f"{k:<20} {v:.4g}")
    if a.json:
        Path(a.json).write_text(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
