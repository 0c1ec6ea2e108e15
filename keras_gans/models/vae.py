"""A convolutional VAE (Kingma & Welling 2014) on the same data layer, training core, callbacks and export as the GANs.

- Encoder: the DCGAN discriminator trunk (conv k5 s2 blocks, LeakyReLU, batch norm inside) -> two linear heads,
  mu and log sigma^2 (float32).
- Decoder: the DCGAN generator trunk (`nets.build_generator`), tanh to [-1, 1]. It *is* the generator of the
  export, so `sample`, `interpolate`, `evaluate` and TF Serving treat a VAE like a GAN: `serving_default` z -> images
  uint8, `generate` seed -> images + image_bytes, plus an `encode` signature (images uint8 -> z_mean, z_log_var).
- Loss per image: recon + lambda * KL, reduced over the global batch (`self.reduce`), where
    recon = squared error between x and decoder(mu + sigma * eps) over the image's pixels in [-1, 1],
            MEANED over the H*W*C values (vae.recon: mean, the default) or summed (vae.recon: sum);
    KL    = KL(N(mu, sigma^2) || N(0, I)) = -1/2 * sum_j (1 + log sigma_j^2 - mu_j^2 - sigma_j^2), SUMMED over latents.
  With the meaned recon, lambda = 2 s^2 / (H*W*C) is the ELBO of a Gaussian decoder with pixel std s (in [-1, 1]
  units); see configs/vae.yaml for the values this gives.
- eps comes from the core's stateless per-replica noise (`self.normal`), so a resumed run replays the same noise.
- lambda is a variable set at the start of every epoch from `vae.kl_weight` / `vae.kl_schedule` (KLSchedule).
- Each epoch, RUN/samples/recon_epoch_XXXX.png shows held-out originals over their reconstructions (decoder(mu)), and
  `holdout_mse` (held-out reconstruction MSE) goes into history.csv. `vae.holdout` images are kept out of training.
"""

from __future__ import annotations

from pathlib import Path

import keras
import numpy as np
import tensorflow as tf
from keras import layers

from keras_gans import nets
from keras_gans.images import make_grid, save_png, to_uint8
from keras_gans.models.base import GenerativeModel, make_optimizer, seeds_to_latent
from keras_gans.models.kl_schedule import kl_weight_at
from keras_gans.nets.blocks import initializer

EPS_SALT = 70


def kl_divergence(mu, logvar):
    """KL(N(mu, exp(logvar)) || N(0, I)) per example, summed over the latent dimensions (closed form)."""
    mu, logvar = tf.cast(mu, tf.float32), tf.cast(logvar, tf.float32)
    return -0.5 * tf.reduce_sum(1.0 + logvar - tf.square(mu) - tf.exp(logvar), axis=-1)


def reconstruction_error(x, x_hat, reduction: str = "mean"):
    """Squared error per example over all of its pixels: meaned (MSE) or summed."""
    d = tf.square(tf.cast(x, tf.float32) - tf.cast(x_hat, tf.float32))
    d = tf.reshape(d, [tf.shape(d)[0], -1])
    return tf.reduce_mean(d, axis=-1) if reduction == "mean" else tf.reduce_sum(d, axis=-1)


def build_encoder(cfg_net: dict, image_shape, sync_bn: bool = False, name: str = "encoder",
                  tanh_mean: bool = False) -> keras.Model:
    """D's trunk (net.d_* keys: e.g. conv/pool blocks and an FC layer) -> mu, log sigma^2; tanh_mean bounds mu."""
    img = keras.Input(tuple(image_shape), name="image")
    feats = nets.discriminator_trunk(img, cfg_net, sync_bn)
    init = initializer(cfg_net["weights_init"])
    mu = layers.Dense(cfg_net["latent_dim"], kernel_initializer=init, dtype="float32",
                      activation="tanh" if tanh_mean else None, name="z_mean")(feats)
    logvar = layers.Dense(cfg_net["latent_dim"], kernel_initializer=init, dtype="float32", name="z_log_var")(feats)
    return keras.Model(img, [mu, logvar], name=name)


def spread(n: int, k: int) -> np.ndarray:
    """k indices spread evenly over range(n) (all of them when k >= n): a fixed subset that covers every class
    of a folder sorted by class sub-folder."""
    if k >= n:
        return np.arange(n)
    return np.unique(np.linspace(0, n - 1, k).round().astype(int))


def recon_grid(originals_u8: np.ndarray, recon_u8: np.ndarray, ncol: int = 8) -> np.ndarray:
    """Rows of originals, each directly over the row of their reconstructions."""
    n = len(originals_u8)
    ncol = max(1, min(ncol, n))
    pad = (-n) % ncol
    if pad:
        blank = np.full((pad,) + originals_u8.shape[1:], 255, np.uint8)
        originals_u8, recon_u8 = np.concatenate([originals_u8, blank]), np.concatenate([recon_u8, blank])
    rows = []
    for i in range(0, len(originals_u8), ncol):
        rows += [originals_u8[i : i + ncol], recon_u8[i : i + ncol]]
    return make_grid(np.concatenate(rows), nrow=ncol)


class VAE(GenerativeModel):
    family = "vae"
    tracker_names = ("loss", "recon_loss", "kl_loss", "kl_weight", "grad_norm")

    def __init__(self, cfg: dict, data_info: dict, **kwargs):
        super().__init__(cfg, data_info, **kwargs)
        self.vae_cfg = cfg["vae"]
        self.latent_dim = int(cfg["net"]["latent_dim"])
        self.recon_reduction = self.vae_cfg["recon"]
        self.encoder = build_encoder(cfg["net"], self.image_shape, self.sync_bn,
                                     tanh_mean=bool(self.vae_cfg.get("tanh_mean", False)))
        self.decoder = nets.build_generator(cfg["net"], self.image_shape, self.sync_bn, name="decoder")
        # lambda; set every epoch by KLSchedule (restored with the model, then overwritten from the schedule).
        self.kl_weight_var = self.add_weight(
            name="kl_weight", shape=(), dtype="float32", trainable=False, aggregation="only_first_replica",
            initializer=keras.initializers.Constant(kl_weight_at(self.vae_cfg, 1)),
        )
        t = cfg["train"]
        self.vae_optimizer = make_optimizer(
            t["optimizer"], t["g_lr"], t["beta_1"], t["beta_2"], t.get("mixed_precision") == "mixed_float16"
        )
        self._holdout_cache = None

    # ----- the optimizer plumbing the core asks for ----------------------------------------------------------
    def optimizers(self):
        return {"vae": self.vae_optimizer}

    def trainable_sets(self):
        return {"vae": self.encoder.trainable_variables + self.decoder.trainable_variables}

    # ----- the model ---------------------------------------------------------------------------------------------
    def encode(self, images, training=False):
        """(mu, logvar) for images in [-1, 1]."""
        return self.encoder(images, training=training)

    def decode(self, z, training=False):
        return self.decoder(z, training=training)

    def reconstruct(self, images, training=False):
        """decoder(mu(x)): the deterministic reconstruction used for grids and MSE."""
        mu, _ = self.encode(images, training=training)
        return self.decode(mu, training=training)

    def compute_losses(self, x, eps, kl_weight, training=True) -> dict:
        """Per-example terms: recon, kl and total = recon + kl_weight * kl, with z = mu + exp(logvar / 2) * eps."""
        mu, logvar = self.encode(x, training=training)
        z = mu + tf.exp(0.5 * logvar) * tf.cast(eps, mu.dtype)
        x_hat = self.decode(z, training=training)
        recon = reconstruction_error(x, x_hat, self.recon_reduction)
        kl = kl_divergence(mu, logvar)
        return {"recon": recon, "kl": kl, "total": recon + tf.cast(kl_weight, tf.float32) * kl}

    def train_step(self, data):
        x = data["image"]
        eps = self.normal([tf.shape(x)[0], self.latent_dim], EPS_SALT)
        w = tf.convert_to_tensor(self.kl_weight_var)
        with tf.GradientTape() as tape:
            out = self.compute_losses(x, eps, w, training=True)
            loss = self.reduce(out["total"])
        norm = self.apply_update(tape, loss, self.trainable_sets()["vae"], self.vae_optimizer)
        self.step_counter.assign_add(1)
        return self.update_trackers({
            "loss": loss, "recon_loss": self.reduce(out["recon"]), "kl_loss": self.reduce(out["kl"]),
            "kl_weight": w, "grad_norm": norm,
        })

    # ----- hooks -----------------------------------------------------------------------------------------------
    def generate(self, inputs, training=False):
        """Decoder on latent vectors: random generation when they are N(0, I) draws (as in the export)."""
        return self.decoder(inputs, training=training)

    def train_callbacks(self, run_dir, chief: bool) -> list:
        cbs = [KLSchedule(self.vae_cfg)]
        if chief:
            cbs.append(ReconstructionGrid(run_dir, self.cfg["callbacks"]["sample_every"]))
            cbs.append(VAECurves(run_dir))
        return cbs

    def export_endpoints(self, archive, uint8_fn, png_fn):
        dec, enc = self.decoder, self.encoder
        archive.track(dec)
        archive.track(enc)
        latent, z_std = self.latent_dim, self.z_std

        def serving_default(z):
            return {"images": uint8_fn(dec(z, training=False))}

        def generate(seed):
            images = uint8_fn(dec(seeds_to_latent(seed, latent, z_std), training=False))
            return {"images": images, "image_bytes": png_fn(images)}

        def encode(images):
            mu, logvar = enc(tf.cast(images, tf.float32) / 127.5 - 1.0, training=False)
            return {"z_mean": mu, "z_log_var": logvar}

        archive.add_endpoint("serving_default", serving_default, [tf.TensorSpec([None, latent], tf.float32, name="z")])
        archive.add_endpoint("generate", generate, [tf.TensorSpec([None], tf.int64, name="seed")])
        archive.add_endpoint("encode", encode, [tf.TensorSpec([None, *self.image_shape], tf.uint8, name="images")])

    @classmethod
    def prepare_data(cls, cfg: dict, image_set):
        """Keep vae.holdout images (a fixed random split) out of training; remember which, for recon grids/MSE."""
        from keras_gans.data.source import holdout_info

        train_idx, held = holdout_info(cfg, image_set, cfg["vae"]["holdout"])
        info = {"image_shape": list(image_set.images.shape[1:]), "n_images": int(len(train_idx)), **held}
        return {"image": image_set.images[train_idx]}, info

    def holdout_images(self) -> np.ndarray:
        """The held-out uint8 images of this run's data (loaded once: only those files for an image folder)."""
        if self._holdout_cache is None:
            from keras_gans.data.source import holdout_images

            self._holdout_cache = holdout_images(self.cfg, self.data_info, self.image_shape)
        return self._holdout_cache

    def reconstruction_grid(self, images_u8: np.ndarray) -> np.ndarray:
        x = images_u8.astype(np.float32) / 127.5 - 1.0
        return recon_grid(images_u8, to_uint8(self.reconstruct(x, training=False)))


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
        from keras_gans.metrics.reconstruction import reconstruction_mse

        images = self.model.holdout_images()
        if not len(images):
            return
        grid = self.model.reconstruction_grid(images[spread(len(images), self.model.vae_cfg["n_recon"])])
        save_png(self.dir / f"recon_epoch_{epoch + 1:04d}.png", grid)
        if logs is not None:
            logs["holdout_mse"] = reconstruction_mse(self.model, images[spread(len(images), self.n_mse)])


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
    import io

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from keras_gans.callbacks import read_csv
    from keras_gans.io_utils import atomic_write_bytes

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
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=90)
    plt.close(fig)
    out = Path(out) if out else run_dir / "vae_curves.png"
    atomic_write_bytes(out, buf.getvalue())
    return out
