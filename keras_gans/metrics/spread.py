"""Results over seeds and the conditions they were measured under (`compare` and `sweep --seeds`).

One seed is an anecdote: Lucic et al. ("Are GANs created equal?") found most GAN variants equal once training
seeds were counted. So runs that differ only in their seed are grouped and reported as mean ± std (sample std,
ddof=1) with every seed's value, and the figure shows each seed beside the mean. A metric is comparable between
runs only when it was measured alike: same number of generated and real images, same reference data, same
feature extractor file (by hash), same resize rule, same truncation; `conditions_of` reads them from eval.json
and `mismatch` names the first that differs.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

# eval.json conditions two evaluations must share to be ranked (the seed is not one: seeds are what is averaged)
CONDITION_KEYS = ("n_generated", "n_real", "data", "features", "features_sha256", "resize", "truncation")


def conditions_of(ev: dict) -> dict:
    """The comparability conditions of an eval.json (older files without a `conditions` block: from its fields)."""
    c = dict(ev.get("conditions") or {})
    feats = ev.get("features") or {}
    c.setdefault("n_generated", ev.get("n_generated"))
    c.setdefault("n_real", ev.get("n_real"))
    c.setdefault("data", ev.get("data"))
    c.setdefault("features", feats.get("name"))
    c.setdefault("features_sha256", feats.get("sha256"))
    c.setdefault("resize", feats.get("resize"))
    c.setdefault("truncation", 1.0)
    c.setdefault("seed", ev.get("seed"))
    return {k: c.get(k) for k in (*CONDITION_KEYS, "seed")}


def mismatch(named: list[tuple[str, dict]]) -> str | None:
    """None when all (name, conditions) pairs agree on CONDITION_KEYS, else one line naming the first difference."""
    if len(named) < 2:
        return None
    first_name, first = named[0]
    for name, cond in named[1:]:
        for k in CONDITION_KEYS:
            if cond.get(k) != first.get(k):
                return f"{k} is {_short(first.get(k))} for {first_name} but {_short(cond.get(k))} for {name}"
    return None


def _short(v) -> str:
    s = str(v)
    return s[:12] if len(s) == 64 and all(ch in "0123456789abcdef" for ch in s) else s


def mean_std(values) -> tuple[float, float, int]:
    """(mean, sample std (ddof=1; 0 for one value), count) over the finite values; nan, nan, 0 when none."""
    v = np.asarray([float(x) for x in values if _finite(x)], np.float64)
    if not len(v):
        return math.nan, math.nan, 0
    return float(v.mean()), float(v.std(ddof=1)) if len(v) > 1 else 0.0, int(len(v))


def _finite(x) -> bool:
    try:
        return math.isfinite(float(x))
    except (TypeError, ValueError):
        return False


def fmt_mean_std(mean: float, std: float, n: int) -> str:
    if n == 0:
        return ""
    return f"{mean:.4g} ± {std:.2g} (n={n})" if n > 1 else f"{mean:.4g} (n=1)"


def summarize(groups: dict[str, list[dict]], metrics: list[str]) -> list[dict]:
    """One row per group: {'config', 'seeds', 'runs', METRIC: 'mean ± std (n=K)', METRIC_mean, METRIC_std,
    METRIC_values} for each metric with at least one finite value."""
    clash = [k for k in metrics if "_" in k and k.rsplit("_", 1)[1] in ("mean", "std") and k.rsplit("_", 1)[0] in metrics]
    if clash:
        raise ValueError(f"metric names {clash} collide with the mean/std columns of another metric")
    rows = []
    for label, members in groups.items():
        row = {"config": label, "runs": len(members),
               "seeds": ",".join(str(m.get("seed", "")) for m in members)}
        for k in metrics:
            mean, std, n = mean_std(m.get(k) for m in members)
            if n:
                row[k] = fmt_mean_std(mean, std, n)
                row[f"{k}_mean"], row[f"{k}_std"] = mean, std
                row[f"{k}_values"] = [float(m[k]) for m in members if _finite(m.get(k))]
        rows.append(row)
    return rows


def draw_spread(summary: list[dict], metrics: list[str], out_path: Path, title: str = ""):
    """One panel per metric: every seed's value (dots) and mean ± std (bar) per config. None when nothing to draw."""
    metrics = [m for m in metrics if any(f"{m}_values" in r for r in summary)]
    if not metrics:
        return None
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from keras_gans.core.io_utils import save_figure

    fig, axes = plt.subplots(1, len(metrics), figsize=(max(3.2, 1.1 * len(summary) + 1.6) * len(metrics), 3.6),
                             squeeze=False)
    for ax, m in zip(axes[0], metrics):
        for i, r in enumerate(summary):
            vals = r.get(f"{m}_values") or []
            if not vals:
                continue
            jitter = np.linspace(-0.12, 0.12, len(vals)) if len(vals) > 1 else [0.0]
            ax.scatter(i + np.asarray(jitter), vals, s=14, color="tab:blue", alpha=0.7, zorder=3)
            ax.errorbar([i + 0.3], [r[f"{m}_mean"]], yerr=[r[f"{m}_std"]], fmt="s", color="black", capsize=4,
                        markersize=5, zorder=4)
        ax.set_xticks(range(len(summary)))
        ax.set_xticklabels([_wrap(r["config"]) for r in summary], fontsize=7)
        ax.set_title(f"{m} (dots: seeds; square: mean ± std)", fontsize=8)
        ax.grid(axis="y", alpha=0.3)
    if title:
        fig.suptitle(title, fontsize=9)
    fig.tight_layout()
    return save_figure(fig, out_path, dpi=100)


def _wrap(text: str, width: int = 18) -> str:
    words, lines, cur = str(text).split(" "), [], ""
    for w in words:
        if cur and len(cur) + 1 + len(w) > width:
            lines.append(cur)
            cur = w
        else:
            cur = f"{cur} {w}".strip()
    return "\n".join(lines + [cur])
