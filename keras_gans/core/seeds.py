"""The latent-seed rule, in one place: image i of seed S is drawn from the int64 latent seed S*100000+i.

`sample --seed S`, the demo's grids, `interpolate`, `compare`, `evaluate` (and the FID callback during training)
and the label-set score all draw their images through `latent_seeds`, so `evaluate --seed S` scores the very images
`sample --seed S --n N` draws. One seed S holds 100,000 images before it reaches seed S+1's first one; the seed -> z
map itself is `models.latent.seeds_to_latent`. Standard library and NumPy only (the demo imports it without
TensorFlow)."""

from __future__ import annotations

import numpy as np

PER_SEED = 100_000  # images one seed holds before the next seed's images begin


def latent_seeds(seed: int, n: int, start: int = 0) -> np.ndarray:
    """The int64 latent seeds of images start..start+n-1 of seed `seed`: seed*100000 + i."""
    return np.arange(int(start), int(start) + int(n), dtype=np.int64) + np.int64(seed) * PER_SEED
