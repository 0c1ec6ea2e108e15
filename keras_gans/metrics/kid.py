"""Kernel Inception Distance (Bińkowski et al. 2018): the unbiased estimate of MMD^2 with the cubic polynomial
kernel k(x, y) = (x.y / d + 1)^3, averaged over random subsets (mean and standard deviation are reported).
Unlike FID it is unbiased, so it is comparable across sample counts; it can be slightly negative for
identical distributions."""

from __future__ import annotations

import numpy as np


def _poly_kernel(x, y):
    return (x @ y.T / x.shape[1] + 1.0) ** 3


def mmd2_unbiased(x, y) -> float:
    m, n = len(x), len(y)
    kxx, kyy, kxy = _poly_kernel(x, x), _poly_kernel(y, y), _poly_kernel(x, y)
    sxx = (kxx.sum() - np.trace(kxx)) / (m * (m - 1))
    syy = (kyy.sum() - np.trace(kyy)) / (n * (n - 1))
    return float(sxx + syy - 2.0 * kxy.mean())


def kid_subset_size(n1: int, n2: int, subset_size: int = 1000) -> int:
    """min(subset_size, half the smaller set): subsets of the whole set would all be the same set, and their
    std (the uncertainty KID reports) would be 0 whatever the sample."""
    return int(min(int(subset_size), max(2, min(int(n1), int(n2)) // 2)))


def kid(f1, f2, subsets: int = 100, subset_size: int = 1000, seed: int = 0) -> tuple[float, float]:
    """(mean, std) of the unbiased MMD^2 over `subsets` random subsets of kid_subset_size(n1, n2, subset_size)
    each (population std over the subsets)."""
    x, y = np.asarray(f1, np.float64), np.asarray(f2, np.float64)
    size = kid_subset_size(len(x), len(y), subset_size) if min(len(x), len(y)) >= 2 else 0
    if size < 2:
        raise ValueError("KID needs at least 2 samples in each set")
    rng = np.random.default_rng(seed)
    vals = [
        mmd2_unbiased(x[rng.choice(len(x), size, replace=False)], y[rng.choice(len(y), size, replace=False)])
        for _ in range(int(subsets))
    ]
    return float(np.mean(vals)), float(np.std(vals))
