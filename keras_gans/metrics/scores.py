"""Metrics over class predictions and feature manifolds: Inception Score, precision/recall/density/coverage,
the per-class histogram that shows mode collapse, and conditional accuracy."""

from __future__ import annotations

import numpy as np

EPS = 1e-12


def inception_score(probs, splits: int = 10) -> tuple[float, float]:
    """(mean, std) over `splits` of exp(E_x KL(p(y|x) || p(y))) (Salimans et al. 2016).
    1 for identical predictions; the number of classes for confident predictions spread evenly over them."""
    p = np.asarray(probs, np.float64)
    splits = max(1, min(int(splits), len(p)))
    scores = []
    for part in np.array_split(p, splits):
        py = part.mean(axis=0, keepdims=True)
        kl = np.sum(part * (np.log(part + EPS) - np.log(py + EPS)), axis=1)
        scores.append(np.exp(kl.mean()))
    return float(np.mean(scores)), float(np.std(scores))


def _pairwise(a, b):
    """Euclidean distances [len(a), len(b)] (float64, clipped at 0 before the root)."""
    sq = (a**2).sum(1)[:, None] + (b**2).sum(1)[None, :] - 2.0 * a @ b.T
    return np.sqrt(np.clip(sq, 0.0, None))


def _kth_nn_radius(x, k: int, chunk: int = 2048):
    """Distance from each point of x to its k-th nearest neighbour in x (itself excluded)."""
    out = np.empty(len(x))
    for s in range(0, len(x), chunk):
        d = _pairwise(x[s : s + chunk], x)
        out[s : s + chunk] = np.partition(d, k, axis=1)[:, k]  # index 0 is the point itself (distance 0)
    return out


def prdc(real, fake, k: int = 5, chunk: int = 2048) -> dict:
    """Precision, recall (Kynkäänniemi et al. 2019), density and coverage (Naeem et al. 2020) from k-NN balls
    in feature space. Precision: share of fakes inside the real manifold; recall: share of reals inside the
    fake manifold; density: how many real balls hold each fake (/k, ~1 for matched sets); coverage: share of
    real balls that hold at least one fake."""
    r, f = np.asarray(real, np.float64), np.asarray(fake, np.float64)
    k = int(min(k, len(r) - 1, len(f) - 1))
    if k < 1:
        raise ValueError("precision/recall need at least 2 samples in each set")
    r_rad, f_rad = _kth_nn_radius(r, k, chunk), _kth_nn_radius(f, k, chunk)
    in_real = np.zeros(len(f), bool)  # fake j inside some real ball
    density_count = np.zeros(len(f))
    covered = np.zeros(len(r), bool)  # real ball i holds some fake
    in_fake = np.zeros(len(r), bool)  # real i inside some fake ball
    for s in range(0, len(r), chunk):
        d = _pairwise(r[s : s + chunk], f)  # [chunk_real, n_fake]
        inside = d <= r_rad[s : s + chunk, None]
        in_real |= inside.any(axis=0)
        density_count += inside.sum(axis=0)
        covered[s : s + chunk] = inside.any(axis=1)
        in_fake[s : s + chunk] = (d <= f_rad[None, :]).any(axis=1)
    return {
        "precision": float(in_real.mean()),
        "recall": float(in_fake.mean()),
        "density": float(density_count.sum() / (k * len(f))),
        "coverage": float(covered.mean()),
        "k": k,
    }


def class_histogram(probs_or_classes, num_classes: int | None = None) -> np.ndarray:
    """Counts per class of the predicted (argmax) class."""
    a = np.asarray(probs_or_classes)
    classes = a.argmax(axis=1) if a.ndim == 2 else a.astype(int)
    k = num_classes or (a.shape[1] if a.ndim == 2 else int(classes.max()) + 1)
    return np.bincount(classes, minlength=k)[:k]


def mode_collapse(probs, min_share: float = 0.1) -> dict:
    """Per-class histogram of predicted classes, its KL divergence from uniform (0 = perfectly even,
    log K = every sample in one class) and the number of modes covered: classes that received at least
    `min_share` of their uniform share n/K (so a few stray misclassifications do not count as a mode)."""
    p = np.asarray(probs)
    k = p.shape[1]
    hist = class_histogram(p, k)
    n = hist.sum()
    q = hist / max(n, 1)
    kl = float(np.sum(np.where(q > 0, q * np.log(np.maximum(q, EPS) * k), 0.0)))
    return {
        "histogram": hist.astype(int).tolist(),
        "kl_uniform": kl,
        "kl_max": float(np.log(k)),
        "modes_covered": int((hist >= min_share * n / k).sum()),
        "num_classes": int(k),
    }


def conditional_accuracy(probs, requested) -> float:
    """Single-label: the fraction of images whose predicted class is the requested one."""
    return float(np.mean(np.asarray(probs).argmax(axis=1) == np.asarray(requested).astype(int)))


def multilabel_accuracy(scores, requested) -> float:
    """Multi-label (the i-CLEVR evaluator): for each image with k requested labels, how many of the classifier's
    top-k labels are requested ones; summed over images and divided by the total number of requested labels."""
    s, req = np.asarray(scores, np.float64), np.asarray(requested) > 0.5
    hit = total = 0
    for si, ri in zip(s, req):
        k = int(ri.sum())
        if k:
            hit += int(ri[np.argsort(-si, kind="stable")[:k]].sum())
            total += k
    return float(hit / total) if total else float("nan")


def topk_hits(scores, targets) -> tuple[np.ndarray, np.ndarray]:
    """(hits [n], asked [n]): per set, how many of the classifier's top-k labels were asked for (k = asked)."""
    s, t = np.asarray(scores, np.float64), np.asarray(targets) > 0.5
    hits, asked = np.zeros(len(s), np.int64), t.sum(1).astype(np.int64)
    for i, (si, ti) in enumerate(zip(s, t)):
        if asked[i]:
            hits[i] = int(ti[np.argsort(-si, kind="stable")[: asked[i]]].sum())
    return hits, asked


def topk_score(scores, targets) -> float:
    """The lab evaluator's accuracy: all top-k hits / all labels asked for (nan when nothing was asked)."""
    hits, asked = topk_hits(scores, targets)
    return float(hits.sum() / asked.sum()) if asked.sum() else float("nan")
