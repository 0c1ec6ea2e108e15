"""The VAE's training extras: the KL weight schedule, the held-out reconstruction grid and MSE, and the
vae_curves.png plot (reconstruction, KL and lambda on their own axes). Keras callbacks the family hands the driver
through `VAE.train_callbacks`; they read the model only through its methods (holdout_images,
reconstruction_grid, reconstruction_errors), so this module imports nothing of the layers above the models."""

from __future__ import annotations

from pathlib import Path

import keras
import numpy as np

from keras_gans.core.images import make_grid, save_png
from keras_gans.models.kl_schedule import kl_weight_at


def spread(n: int, k: int) -> np.ndarray:
    """k indices spread evenly over range(n) (all of them when k >= n): a fixed subset that covers every class
    of a folder sorted by class sub-folder."""
    if k >= n:
        return np.arange(n)
    return np.unique(np.linspace(0, n - 1, k).round().astype(int))


def recon_grid(originals_u8: np.ndarray, recon_u8: np.ndarray, ncol: int = 8, min_cell: int = 0) -> np.ndarray:
    """Rows of originals, each directly over the row of their reconstructions (cells enlarged to >= min_cell px)."""
    n = len(originals_u8)
    ncol = max(1, min(ncol, n))
    pad = (-n) % ncol
    if pad:
        blank = np.full((pad,) + originals_u8.shape[1:], 255, np.uint8)
        originals_u8, recon_u8 = np.concatenate([originals_u8, blank]), np.concatenate([recon_u8, blank])
    rows = []
    for i in range(0, len(originals_u8), ncol):
        rows += [originals_u8[i : i + ncol], recon_u8[i : i + ncol]]
    return make_grid(np.concatenate(rows), nrow=ncol, min_cell=min_cell)


class KLSchedule(keras.callbacks.Callback):
    """Sets the model's lambda at the start of every epoch from the vae config (on every worker)."""

    def __init__(self, vae_cfg: dict):
        super().__init__()
        self.vae_cfg = vae_cfg

    def on_epoch_begin(self, epoch, logs=None):
        self.model.kl_weight_var.assign(kl_weight_at(self.vae_cfg, epoch + 1))


class ReconstructionGrid(keras.callbacks.Callback):
    """RUN/samples/recon_epoch_XXXX.png (held-out originals over reconstructions) and `holdout_mse` in the logs."""

    def __init__(self, run_dir, every: int = 1, n_mse: int = 512):
        super().__init__()
        self.dir = Path(run_dir) / "samples"
        self.every, self.n_mse = max(1, int(every)), n_mse

    def on_epoch_end(self, epoch, logs=None):
        if (epoch + 1) % self.every:
            return
        images = self.model.holdout_images()
        if not len(images):
            return
        grid = self.model.reconstruction_grid(images[spread(len(images), self.model.vae_cfg["n_recon"])])
        save_png(self.dir / f"recon_epoch_{epoch + 1:04d}.png", grid)
        if logs is not None:
            logs["holdout_mse"] = float(np.mean(self.model.reconstruction_errors(images[spread(len(images), self.n_mse)])))


class VAECurves(keras.callbacks.Callback):
    """RUN/vae_curves.png: reconstruction, KL and lambda on their own axes (the KL dwarfs the MSE on one axis).
    Drawn from steps.csv/history.csv at the start of each epoch and at the end of training."""

    def __init__(self, run_dir):
        super().__init__()
        self.run_dir = Path(run_dir)

    def on_epoch_begin(self, epoch, logs=None):
        if epoch > 0:
            draw_vae_curves(self.run_dir)

    def on_train_end(self, logs=None):
        draw_vae_curves(self.run_dir)


def draw_vae_curves(run_dir, out=None):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from keras_gans.core.io_utils import read_csv, save_figure

    run_dir = Path(run_dir)
    steps, hist = read_csv(run_dir / "steps.csv"), read_csv(run_dir / "history.csv")
    if not steps and not hist:
        return None
    rows, xkey = (steps, "step") if len(steps) >= 2 else (hist, "epoch")
    per_epoch = len(steps) / max(1, len(hist)) if steps and hist else None

    def col(rs, k):
        return [float(r[k]) if r.get(k) not in ("", None) else np.nan for r in rs]

    fig, axes = plt.subplots(1, 3, figsize=(14, 3.6))
    x = [float(r[xkey]) for r in rows]
    axes[0].plot(x, col(rows, "recon_loss"), label="recon_loss (train, running mean)")
    if hist and "holdout_mse" in hist[0]:
        hx = [float(r["epoch"]) for r in hist]
        if xkey == "step" and per_epoch:
            last_step = {int(r["epoch"]): float(r["step"]) for r in steps}
            hx = [last_step.get(int(e), np.nan) for e in hx]
        axes[0].plot(hx, col(hist, "holdout_mse"), "o-", label="holdout_mse (decoder(mu))")
    axes[0].set_title("reconstruction (MSE, [-1, 1] pixels)")
    axes[1].plot(x, col(rows, "kl_loss"), color="C2", label="kl_loss")
    axes[1].set_title("KL (nats, summed over latents)")
    axes[2].plot(x, col(rows, "kl_weight"), color="C3", label="kl_weight")
    axes[2].set_title("lambda")
    axes[2].ticklabel_format(axis="y", useOffset=False)
    axes[2].set_ylim(bottom=0.0, top=max(1e-12, 1.1 * np.nanmax(col(rows, "kl_weight") + [0.0])))
    for ax in axes:
        ax.set_xlabel(xkey)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7)
    fig.tight_layout()
    return save_figure(fig, Path(out) if out else run_dir / "vae_curves.png", dpi=90)
