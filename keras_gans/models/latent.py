"""Latent sampling: the capability of families whose generator maps noise z to images (GAN, cGAN/ACGAN, VAE).

The core (`GenerativeModel`) assumes no latent generator; a family that has one mixes in `LatentSampler` (before
GenerativeModel in its bases) and declares `capabilities.LATENT`. One latent vector per int64 seed
(`seeds_to_latent`) is the same in Python, in the export's `generate` signature and in `sample --seed`.
"""

from __future__ import annotations

import numpy as np
import tensorflow as tf

from keras_gans.core.images import make_grid, to_uint8
from keras_gans.models.capabilities import LATENT
from keras_gans.core.seeds import latent_seeds

SAMPLE_SALT = 977  # fixed-noise grids never share noise with training steps


def scale_latent(z, z_std: float = 1.0):
    """N(0, 1) draws -> N(0, z_std^2); untouched at 1.0, so runs without net.z_std keep their exact noise."""
    return z if float(z_std) == 1.0 else z * tf.cast(float(z_std), z.dtype)


def seeds_to_latent(seeds, latent_dim: int, z_std: float = 1.0):
    """One latent vector per int64 seed, identical in Python, in the export and in `sample --seed` (scaled by the
    run's net.z_std in all three)."""

    def one(s):
        return tf.random.stateless_normal([latent_dim], seed=tf.stack([s, tf.constant(0, tf.int64)]))

    z = tf.map_fn(one, tf.cast(seeds, tf.int64), fn_output_signature=tf.TensorSpec([latent_dim], tf.float32))
    return scale_latent(z, z_std)


def truncated_sigma(z_std: float, psi: float) -> float:
    """The truncation trick for z-input generators: z -> psi * z, i.e. every latent is pulled towards the mean
    latent (0) by psi (StyleGAN's rule, with the mean latent of N(0, sigma^2) being 0). psi 1 = the model's own
    distribution; lower psi = images nearer the generator's "average" (cleaner, less varied); 0 = one image."""
    psi = float(psi)
    if not 0.0 <= psi <= 1.0:
        raise ValueError(f"truncation psi must be in [0, 1], got {psi}")
    return float(z_std) * psi


def apply_truncation(model, psi: float):
    """Draw `model`'s samples (sample_from_seeds, evaluation_samples, grids) with truncation psi from now on."""
    model.z_std = truncated_sigma(getattr(model, "z_std", 1.0), psi)
    model.truncation = float(psi)
    return model


class LatentSampler:
    """Mixin for a GenerativeModel whose `generate` takes latent vectors: training noise, fixed sample inputs,
    images by seed and evaluation samples. Sets `latent_dim` and `z_std` (sigma of z ~ N(0, sigma^2), net.z_std;
    `sample --z-std` overrides it on a loaded model)."""

    capabilities = frozenset({LATENT})

    def __init__(self, cfg: dict, data_info: dict, **kwargs):
        super().__init__(cfg, data_info, **kwargs)
        self.latent_dim = int(cfg["net"]["latent_dim"])
        self.z_std = float(cfg["net"].get("z_std", 1.0) or 1.0)

    def latent_noise(self, batch, salt: int):
        """G's training noise z ~ N(0, z_std^2) [batch, latent_dim] (the core's stateless per-replica noise)."""
        return scale_latent(self.normal([batch, self.latent_dim], salt), self.z_std)

    def sample_inputs(self, n: int, seed_offset: int = 0):
        """Fixed inputs for sample grids: the same every epoch, every resume, every process."""
        seed = tf.constant([self.seed * 1_000_003 + SAMPLE_SALT, seed_offset], tf.int64)
        return scale_latent(tf.random.stateless_normal([n, self.latent_dim], seed=seed), self.z_std)

    def sample_panel(self, n: int):
        images = to_uint8(self.generate(self.sample_inputs(n), training=False))
        return make_grid(images, min_cell=self.grid_cell), images

    def sample_from_seeds(self, seeds, **conditions) -> np.ndarray:
        """uint8 images, image i from latent seed seeds[i]: the same pixels as the export's `generate` signature."""
        z = seeds_to_latent(tf.constant(seeds, tf.int64), self.latent_dim, self.z_std)
        return to_uint8(self.generate(z, training=False))

    def evaluation_samples(self, n: int, seed: int = 0, batch_size: int = 256):
        """(uint8 images [n, H, W, C], requested labels or None) for metrics. Conditional families return the
        labels they asked for (a dict of arrays, e.g. {'label': [n]} or {'hair': [n], 'eyes': [n]}), drawn
        evenly over the classes, so `evaluate` can score conditional accuracy and per-class collapse."""
        out = []
        for start in range(0, n, batch_size):
            seeds = latent_seeds(seed, min(n, start + batch_size) - start, start)
            out.append(self.sample_from_seeds(seeds))
        return np.concatenate(out), None


def interpolate_latents(z0, z1, steps: int, method: str):
    """[pairs, steps, d] points from z0 to z1 (both [pairs, d]); slerp falls back to linear for parallel pairs."""
    t = np.linspace(0.0, 1.0, steps)[None, :, None]
    a, b = np.asarray(z0, np.float64)[:, None, :], np.asarray(z1, np.float64)[:, None, :]
    if method == "linear":
        return ((1 - t) * a + t * b).astype(np.float32)
    na = a / np.linalg.norm(a, axis=-1, keepdims=True)
    nb = b / np.linalg.norm(b, axis=-1, keepdims=True)
    omega = np.arccos(np.clip((na * nb).sum(-1, keepdims=True), -1.0, 1.0))
    so = np.sin(omega)
    safe = np.where(so < 1e-6, 1.0, so)
    out = np.where(so < 1e-6, (1 - t) * a + t * b, np.sin((1 - t) * omega) / safe * a + np.sin(t * omega) / safe * b)
    return out.astype(np.float32)
