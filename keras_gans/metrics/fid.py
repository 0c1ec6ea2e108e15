"""Fréchet distance between two Gaussians fitted to feature sets (FID when the features are Inception's).

    d^2 = |mu1 - mu2|^2 + tr(S1) + tr(S2) - 2 tr((S1 S2)^(1/2))

The trace of the matrix square root is computed without forming sqrtm(S1 S2) (which is not symmetric and makes
scipy.linalg.sqrtm return complex parts and lose precision on near-singular covariances): with S1 = V W V^T,
A = S1^(1/2) = V W^(1/2) V^T, the matrix A S2 A is symmetric positive semi-definite and has the same eigenvalues
as S1 S2, so tr((S1 S2)^(1/2)) = sum sqrt(eig(A S2 A)). Everything is float64; round-off negatives are clipped.
"""

from __future__ import annotations

import numpy as np


def feature_stats(features) -> tuple[np.ndarray, np.ndarray]:
    """(mean, covariance) of features [n, d] in float64 (unbiased covariance, n-1)."""
    f = np.asarray(features, dtype=np.float64)
    if f.ndim != 2 or len(f) < 2:
        raise ValueError(f"features must be [n >= 2, d], got shape {f.shape}")
    return f.mean(axis=0), np.cov(f, rowvar=False).reshape(f.shape[1], f.shape[1])


def _sqrt_psd(s: np.ndarray) -> np.ndarray:
    w, v = np.linalg.eigh((s + s.T) / 2.0)
    return (v * np.sqrt(np.clip(w, 0.0, None))) @ v.T


def trace_sqrt_product(s1, s2) -> float:
    """tr((S1 S2)^(1/2)) for symmetric PSD S1, S2 (see the module docstring)."""
    a = _sqrt_psd(np.asarray(s1, dtype=np.float64))
    m = a @ np.asarray(s2, dtype=np.float64) @ a
    w = np.linalg.eigvalsh((m + m.T) / 2.0)
    return float(np.sqrt(np.clip(w, 0.0, None)).sum())


def frechet_distance(mu1, sigma1, mu2, sigma2) -> float:
    """Squared Fréchet (2-Wasserstein) distance between N(mu1, sigma1) and N(mu2, sigma2); >= 0."""
    mu1, mu2 = np.asarray(mu1, np.float64), np.asarray(mu2, np.float64)
    s1, s2 = np.atleast_2d(np.asarray(sigma1, np.float64)), np.atleast_2d(np.asarray(sigma2, np.float64))
    if mu1.shape != mu2.shape or s1.shape != s2.shape:
        raise ValueError(f"shape mismatch: means {mu1.shape} vs {mu2.shape}, covariances {s1.shape} vs {s2.shape}")
    diff = mu1 - mu2
    d = float(diff @ diff + np.trace(s1) + np.trace(s2) - 2.0 * trace_sqrt_product(s1, s2))
    return max(d, 0.0)


def fid_from_features(f1, f2) -> float:
    """Fréchet distance between the Gaussians fitted to two feature sets [n1, d] and [n2, d]."""
    return frechet_distance(*feature_stats(f1), *feature_stats(f2))
