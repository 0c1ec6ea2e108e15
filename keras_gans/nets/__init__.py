"""Layer builders: each architecture offers a generator trunk (latent tensor -> image tensor) and a
discriminator trunk (image tensor -> flat features). Models add their inputs, conditioning and heads."""

from __future__ import annotations

import keras
from keras import layers

from keras_gans.nets import dcgan, mlp
from keras_gans.nets.blocks import initializer, maybe_sn

ARCHS = {"dcgan": dcgan, "mlp": mlp}


def _arch(cfg_net: dict, which: str):
    name = cfg_net.get(f"{which}_arch") or cfg_net["arch"]
    if name not in ARCHS:
        raise ValueError(f"unknown net architecture '{name}' ({', '.join(ARCHS)})")
    return ARCHS[name]


def generator_trunk(z, cfg_net, image_shape, sync_bn=False):
    return _arch(cfg_net, "g").generator_trunk(z, cfg_net, image_shape, sync_bn)


def discriminator_trunk(x, cfg_net, sync_bn=False):
    return _arch(cfg_net, "d").discriminator_trunk(x, cfg_net, sync_bn)


def score_head(feats, cfg_net, units: int = 1, name: str = "d_score"):
    """A linear head on D's features (float32 under mixed precision), spectrally normalised with the rest of D."""
    dense = layers.Dense(units, kernel_initializer=initializer(cfg_net["weights_init"]), dtype="float32", name=name)
    return maybe_sn(dense, cfg_net["spectral_norm"], cfg_net["sn_power_iterations"])(feats)


def build_generator(cfg_net: dict, image_shape, sync_bn: bool = False, name: str = "generator") -> keras.Model:
    z = keras.Input((cfg_net["latent_dim"],), name="z")
    return keras.Model(z, generator_trunk(z, cfg_net, image_shape, sync_bn), name=name)


def build_discriminator(cfg_net: dict, image_shape, sync_bn: bool = False, name: str = "discriminator") -> keras.Model:
    """Unconditional D: image -> one raw score (logit or critic value)."""
    img = keras.Input(tuple(image_shape), name="image")
    return keras.Model(img, score_head(discriminator_trunk(img, cfg_net, sync_bn), cfg_net), name=name)
