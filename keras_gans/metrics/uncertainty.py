"""How far a metric can be trusted: a bootstrap interval for FID, the real-vs-real floor, and where FID is not
defined (pure numpy).

- FID has no closed-form variance and is biased by the sample count, so its spread is estimated by the
  bootstrap: both feature sets are resampled with replacement (`replicates` times, one numpy Generator seeded by
  `seed`; for each replicate first the real indices `rng.integers(0, n_real, n_real)`, then the generated ones)
  and the percentile interval of the replicates' FIDs is reported. KID's spread is its std over subsets (kid.py).
- The floor: the same metric between two disjoint halves of the real reference set, at the same n. A model can
  only be read against it ("FID 46 where real vs real gives 0.25"), never against 0.
- FID fits a d x d covariance; with n <= d samples it is singular (rank <= n - 1) and the Fréchet distance says
  more about n than about the images. There it is reported as not defined, and KID (unbiased at any n) is the
  number to read.
"""

from __future__ import annotations

import numpy as np

from keras_gans.metrics.fid import feature_stats, frechet_distance


def fid_defined(n_real: int, n_fake: int, dim: int) -> bool:
    """True where both covariances can have full rank: more samples than feature dimensions on each side."""
    return min(int(n_real), int(n_fake)) > int(dim)


def fid_undefined_reason(n_real: int, n_fake: int, dim: int) -> str:
    n = min(int(n_real), int(n_fake))
    return (f"FID is not defined at n={n} <= {dim} feature dimensions (the covariance is singular); read KID, "
            f"which is unbiased at any n, or use more than {dim} images per side")


def fid_bootstrap(f_real, f_fake, replicates: int = 50, seed: int = 0, level: float = 0.95) -> dict:
    """{'low', 'high', 'std', 'replicates', 'level'}: the percentile bootstrap interval of FID (see the module
    docstring for the exact resampling order, which tests reproduce by hand)."""
    r, f = np.asarray(f_real, np.float64), np.asarray(f_fake, np.float64)
    rng = np.random.default_rng(seed)
    vals = []
    for _ in range(int(replicates)):
        i = rng.integers(0, len(r), len(r))
        j = rng.integers(0, len(f), len(f))
        vals.append(frechet_distance(*feature_stats(r[i]), *feature_stats(f[j])))
    vals = np.asarray(vals)
    tail = (1.0 - float(level)) / 2.0 * 100.0
    return {"low": float(np.percentile(vals, tail)), "high": float(np.percentile(vals, 100.0 - tail)),
            "std": float(np.std(vals)), "replicates": int(replicates), "level": float(level)}


def split_halves(n_total: int, n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray, int]:
    """(indices A, indices B, m): two disjoint random halves of range(n_total), each of m = min(n, n_total // 2).
    Random, not the first and second half: a folder sorted by class would give two different class mixes."""
    m = int(min(int(n), int(n_total) // 2))
    perm = np.random.default_rng(seed).permutation(int(n_total))
    return np.sort(perm[:m]), np.sort(perm[m: 2 * m]), m
