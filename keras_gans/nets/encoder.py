"""The VAE's encoder: the discriminator trunk of the config's nets (net.d_* keys) with two linear heads, the mean
and the log-variance of q(z | x)."""

from __future__ import annotations

import keras
from keras import layers

from keras_gans.nets import discriminator_trunk
from keras_gans.nets.blocks import initializer


def build_encoder(cfg_net: dict, image_shape, sync_bn: bool = False, name: str = "encoder",
                  tanh_mean: bool = False) -> keras.Model:
    """D's trunk (net.d_* keys: e.g. conv/pool blocks and an FC layer) -> mu, log sigma^2; tanh_mean bounds mu."""
    img = keras.Input(tuple(image_shape), name="image")
    feats = discriminator_trunk(img, cfg_net, sync_bn)
    init = initializer(cfg_net["weights_init"])
    mu = layers.Dense(cfg_net["latent_dim"], kernel_initializer=init, dtype="float32",
                      activation="tanh" if tanh_mean else None, name="z_mean")(feats)
    logvar = layers.Dense(cfg_net["latent_dim"], kernel_initializer=init, dtype="float32", name="z_log_var")(feats)
    return keras.Model(img, [mu, logvar], name=name)
