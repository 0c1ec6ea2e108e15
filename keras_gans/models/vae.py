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


import keras
import numpy as np
import tensorflow as tf

from keras_gans import nets
from keras_gans.core.images import from_uint8, to_uint8
from keras_gans.parts.losses import kl_divergence, reconstruction_error
from keras_gans.models.base import GenerativeModel
from keras_gans.models.capabilities import ENCODER, LATENT
from keras_gans.models.kl_schedule import kl_weight_at
from keras_gans.models.latent import LatentSampler
from keras_gans.models.signatures import add_latent_signatures
from keras_gans.models.vae_callbacks import KLSchedule, ReconstructionGrid, VAECurves, recon_grid
from keras_gans.nets.encoder import build_encoder
from keras_gans.parts.optimizers import from_train_config

EPS_SALT = 70


class VAE(LatentSampler, GenerativeModel):
    family = "vae"
    capabilities = frozenset({LATENT, ENCODER})
    lr_keys = {"vae": "train.g_lr"}  # one optimizer, at train.g_lr
    net_names = ("encoder", "decoder")
    tracker_names = ("loss", "recon_loss", "kl_loss", "kl_weight", "grad_norm")

    @classmethod
    def from_config(cls, cfg: dict, data_info: dict):
        """Encoder and decoder from the nets (the config's net.* keys), one optimizer at train.g_lr."""
        shape, sync_bn, t = tuple(data_info["image_shape"]), cls.uses_sync_bn(cfg), cfg["train"]
        return cls(cfg, data_info,
                   encoder=build_encoder(cfg["net"], shape, sync_bn, tanh_mean=bool(cfg["vae"].get("tanh_mean", False))),
                   decoder=nets.build_generator(cfg["net"], shape, sync_bn, name="decoder"),
                   optimizer=from_train_config(t, t["g_lr"]))

    def __init__(self, cfg: dict, data_info: dict, *, encoder, decoder, optimizer, **kwargs):
        super().__init__(cfg, data_info, **kwargs)
        self.vae_cfg = cfg["vae"]
        self.recon_reduction = self.vae_cfg["recon"]
        self.encoder, self.decoder = encoder, decoder
        # lambda; set every epoch by KLSchedule (restored with the model, then overwritten from the schedule).
        self.kl_weight_var = self.add_weight(
            name="kl_weight", shape=(), dtype="float32", trainable=False, aggregation="only_first_replica",
            initializer=keras.initializers.Constant(kl_weight_at(self.vae_cfg, 1)),
        )
        self.vae_optimizer = optimizer
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

    def step_updates(self, data):
        x = data["image"]
        eps = self.normal([tf.shape(x)[0], self.latent_dim], EPS_SALT)
        w = tf.convert_to_tensor(self.kl_weight_var)

        def compute(tape):
            out = self.compute_losses(x, eps, w, training=True)
            return out["total"], out

        loss, norm, out = self.minimize("vae", compute)
        return {
            "loss": loss, "recon_loss": self.reduce(out["recon"]), "kl_loss": self.reduce(out["kl"]),
            "kl_weight": w, "grad_norm": norm,
        }

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

    def export_endpoints(self, archive):
        """The latent signatures on the decoder, plus encode(images uint8) -> z_mean, z_log_var."""
        add_latent_signatures(archive, self.decoder, self.latent_dim, self.z_std)
        enc = self.encoder
        archive.track(enc)

        def encode(images):
            mu, logvar = enc(from_uint8(images), training=False)
            return {"z_mean": mu, "z_log_var": logvar}

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

    def reconstruction_errors(self, images, batch_size: int = 256) -> np.ndarray:
        """Per-image MSE ([-1, 1] units) of reconstruct() on uint8 images (or floats in [-1, 1])."""
        images = np.asarray(images)
        out = []
        for start in range(0, len(images), batch_size):
            x = images[start : start + batch_size]
            x = from_uint8(x) if x.dtype == np.uint8 else x.astype(np.float32)
            x_hat = np.asarray(self.reconstruct(x, training=False), dtype=np.float32)
            out.append(np.mean(np.square(x - x_hat).reshape(len(x), -1), axis=1))
        return np.concatenate(out) if out else np.zeros((0,), np.float32)

    def reconstruction_grid(self, images_u8: np.ndarray) -> np.ndarray:
        x = from_uint8(images_u8)
        return recon_grid(images_u8, to_uint8(self.reconstruct(x, training=False)), min_cell=self.grid_cell)


