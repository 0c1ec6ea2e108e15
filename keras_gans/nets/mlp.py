"""Fully-connected G and D: the MLP baseline of the ablation users run against the CNN. G's hidden layers are
net.mlp_units in order (Dense, BN, ReLU), D's the same widths reversed (Dense, [norm], activation, dropout); with
net.mlp_hidden = h they are the MNIST lab's 4h-2h-h (G) and h-2h-4h (D)."""

from __future__ import annotations

import numpy as np
from keras import layers

from keras_gans.nets.blocks import activation, initializer, maybe_sn, norm_layer
from keras_gans.nets.dcgan import per_layer


def hidden_units(cfg_net: dict) -> list[int]:
    """G's hidden widths: [4h, 2h, h] with net.mlp_hidden = h (the lab's hidden_dim), else net.mlp_units."""
    h = cfg_net.get("mlp_hidden")
    return [4 * int(h), 2 * int(h), int(h)] if h else list(cfg_net["mlp_units"])


def generator_trunk(z, cfg_net: dict, image_shape, sync_bn: bool = False):
    init = initializer(cfg_net["weights_init"])
    x = z
    for i, units in enumerate(hidden_units(cfg_net)):
        x = layers.Dense(units, kernel_initializer=init, name=f"g_fc{i + 1}")(x)
        if cfg_net["g_norm"] == "batch":
            x = norm_layer("batch", sync_bn, momentum=float(cfg_net.get("bn_momentum") or 0.9))(x)
        x = layers.ReLU()(x)
    x = layers.Dense(int(np.prod(image_shape)), kernel_initializer=init, name="g_out")(x)
    x = layers.Reshape(tuple(image_shape))(x)
    return layers.Activation("tanh", dtype="float32", name="image")(x)


def discriminator_trunk(x, cfg_net: dict, sync_bn: bool = False):
    init = initializer(cfg_net["weights_init"])
    sn, pit = cfg_net["spectral_norm"], cfg_net["sn_power_iterations"]
    keep_norm = not sn or cfg_net.get("sn_keeps_norm")
    units_list = list(reversed(hidden_units(cfg_net)))
    what = f"the MLP D's {len(units_list)} layers (net.mlp_units)"
    dropouts = per_layer(cfg_net, "d_dropout", len(units_list), 0.0, what)
    momentum = float(cfg_net.get("bn_momentum") or 0.9)
    x = layers.Flatten()(x)
    for i, units in enumerate(units_list):
        x = maybe_sn(layers.Dense(units, kernel_initializer=init, name=f"d_fc{i + 1}"), sn, pit)(x)
        if i > 0 and keep_norm and cfg_net["d_norm"] in ("batch", "layer"):
            x = norm_layer(cfg_net["d_norm"], sync_bn, image=False, momentum=momentum)(x)
        x = activation(cfg_net["d_activation"])(x)
        if dropouts[i]:
            x = layers.Dropout(dropouts[i])(x)
    return x


def discriminator_features(x, cfg_net: dict, sync_bn: bool = False):
    """(D's last feature map: none for an MLP, D's flat features): the interface every arch offers."""
    return None, discriminator_trunk(x, cfg_net, sync_bn)
