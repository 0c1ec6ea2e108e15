"""Small layer builders shared by every net: initialisers, normalisation, activation, spectral norm."""

from __future__ import annotations

import os

import keras
from keras import layers


def initializer(std):
    return keras.initializers.RandomNormal(0.0, std) if std else "glorot_uniform"


def norm_layer(kind: str | None, synchronized: bool = False, name: str | None = None, image: bool = True,
               momentum: float = 0.9):
    """batch | layer | instance | none. Instance norm is GroupNormalization(groups=-1), one group per channel.
    Layer norm on feature maps normalises each sample over (H, W, C), as in the WGAN-GP critic. `momentum` is
    the batch-norm moving-average momentum (Keras' convention: new = momentum * old + (1 - momentum) * batch)."""
    if not kind or kind == "none":
        return None
    if kind == "batch":  # the fused kernel when training on one replica (keras_gans/nets/fused_bn.py)
        from keras_gans.nets.fused_bn import FusedBatchNormalization

        fused = os.environ.get("KERAS_GANS_FUSED_BN", "1") != "0"  # 0: Keras' own layer (to compare numerics)
        BN = FusedBatchNormalization if fused else layers.BatchNormalization
        return BN(momentum=momentum, epsilon=1e-5, synchronized=synchronized, name=name)
    if kind == "layer":
        return layers.LayerNormalization(axis=[1, 2, 3] if image else -1, epsilon=1e-5, name=name)
    if kind == "instance":
        return layers.GroupNormalization(groups=-1, epsilon=1e-5, name=name)
    raise ValueError(f"unknown normalisation '{kind}' (batch, layer, instance or none)")


def activation(kind: str, name: str | None = None):
    if kind == "leaky_relu":
        return layers.LeakyReLU(negative_slope=0.2, name=name)
    if kind == "relu":
        return layers.ReLU(name=name)
    if kind == "tanh":  # the face study VAE's FC layer
        return layers.Activation("tanh", name=name)
    raise ValueError(f"unknown activation '{kind}' (leaky_relu, relu or tanh)")


def maybe_sn(layer, spectral: bool, power_iterations: int = 1):
    """Wrap a Conv/Dense layer in SpectralNormalization (it normalises only when called with training=True)."""
    if not spectral:
        return layer
    return layers.SpectralNormalization(layer, power_iterations=power_iterations)
