"""The curves figure of a run (RUN/curves.png): one panel per group of logged values, drawn from RUN/steps.csv
(or history.csv when a run has too few steps), plus the evaluation metrics measured every eval.every epochs.
It reads only the run's files, so it needs no TensorFlow: the `Curves` callback redraws it each epoch, and a
finished run can be drawn again from its folder."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from keras_gans.core.io_utils import read_csv, save_figure


_READ = object()  # draw_curves' default target: read it from RUN/config.yaml


def draw_curves(run_dir, out: str | Path | None = None, target=_READ) -> Path | None:
    """Draw RUN/curves.png (or `out`) from the run's CSV logs; None when there is nothing to draw yet. `target` is
    augment.target's line beside r_t (None: no line); left out, it is read from RUN/config.yaml."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    run_dir = Path(run_dir)
    rows = read_csv(run_dir / "steps.csv")
    xkey = "step"
    if len(rows) < 2:
        rows, xkey = read_csv(run_dir / "history.csv"), "epoch"
    if not rows:
        return None
    keys = [k for k in rows[0] if k not in ("step", "epoch")]
    groups = {
        "losses": [k for k in keys if k.endswith("loss") or k in ("gp",) or k.startswith("loss_")],
        "D outputs": [k for k in keys if k in ("d_real", "d_fake", "d_acc_real", "d_acc_fake", "D_G_z1", "D_G_z2")],
        "gradient norms": [k for k in keys if k.endswith("grad_norm")],
        # augment.adaptive: p (0..1) and r_t (-1..1, the target as a dotted line) share one scale
        "augmentation (adaptive p)": [k for k in keys if k.startswith(("aug_p", "ada_rt"))],
    }
    rest = [k for k in keys if not any(k in g for g in groups.values())]
    if rest:
        groups["other"] = rest
    groups = {t: ks for t, ks in groups.items() if ks}
    target = read_augment_target(run_dir) if target is _READ else target
    # metrics measured every eval.every epochs (fid, label_score) live in history.csv only: one more panel
    hist = read_csv(run_dir / "history.csv") if xkey == "step" else []
    eval_keys = [k for k in ("fid", "label_score") if any(r.get(k) not in ("", None) for r in hist)]
    fig, axes = plt.subplots(1, len(groups) + bool(eval_keys), figsize=(5 * (len(groups) + bool(eval_keys)), 3.6),
                             squeeze=False)
    for i, k in enumerate(eval_keys):
        ax = axes[0][-1] if i == 0 else axes[0][-1].twinx()
        pts = [(float(r["epoch"]), float(r[k])) for r in hist if r.get(k) not in ("", None)]
        ax.plot(*zip(*pts), "o-", color=("C0", "C3")[i], label=k, linewidth=1.2, markersize=3)
        ax.set_ylabel(k, color=("C0", "C3")[i])
        if i == 0:
            ax.set_title("evaluation")
            ax.set_xlabel("epoch")
            ax.grid(alpha=0.3)
    x = [float(r[xkey]) for r in rows]
    for ax, (title, ks) in zip(axes[0], groups.items()):
        for k in ks:
            y = [float(r[k]) if r.get(k) not in ("", None) else np.nan for r in rows]
            ax.plot(x, y, label=k, linewidth=1.2)
        if title.startswith("augmentation") and target is not None:
            ax.axhline(target, color="gray", linestyle=":", linewidth=1, label="r_t target")
        ax.set_title(title)
        ax.set_xlabel(xkey)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7)
    fig.tight_layout()
    return save_figure(fig, Path(out) if out else run_dir / "curves.png", dpi=100)


def augment_target(cfg: dict) -> float | None:
    """augment.target of a config (drawn beside r_t) when the augmentation is adaptive, else None."""
    try:
        return float(cfg["augment"]["target"]) if cfg["augment"]["adaptive"] else None
    except (KeyError, TypeError, ValueError):  # an older run's config: draw without the line
        return None


def read_augment_target(run_dir) -> float | None:
    """augment_target of RUN/config.yaml, or None."""
    try:
        import yaml

        return augment_target(yaml.safe_load((Path(run_dir) / "config.yaml").read_text()))
    except Exception:  # no config, an unreadable one: draw without the line
        return None
