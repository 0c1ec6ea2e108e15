"""Layer builders, by name. Two registries:

- ARCHS: latent nets. Each architecture (a module) offers `generator_trunk` (latent tensor -> image tensor),
  `discriminator_trunk` (image tensor -> flat features) and `discriminator_features` (D's last feature map or None,
  and the flat features). Models add their inputs, conditioning and heads.
- IMAGE_NETS: image -> image nets, whole Keras models (`build_image_net(name, image_shape, **settings)`): the
  ResNet translator generator and the PatchGAN discriminator. A translator family picks its G and D here by name."""

from __future__ import annotations

import importlib

import keras
from keras import layers

from keras_gans.nets.blocks import initializer, maybe_sn
from keras_gans.core.registry import ARCHS, IMAGE_NETS  # the one list of net.arch values, and of image -> image nets


def build_image_net(kind: str, image_shape, **settings):
    """The image -> image net registered as `kind` in registry.IMAGE_NETS, built for image_shape with its own
    settings (name=... names the Keras model)."""
    if kind not in IMAGE_NETS:
        raise ValueError(f"unknown image net '{kind}' ({', '.join(IMAGE_NETS)})")
    module, attr = IMAGE_NETS[kind].split(":")
    return getattr(importlib.import_module(module), attr)(image_shape, **settings)


def _arch(cfg_net: dict, which: str):
    name = cfg_net.get(f"{which}_arch") or cfg_net["arch"]
    if name not in ARCHS:
        raise ValueError(f"unknown net architecture '{name}' ({', '.join(ARCHS)})")
    return importlib.import_module(ARCHS[name])


def generator_trunk(z, cfg_net, image_shape, sync_bn=False):
    return _arch(cfg_net, "g").generator_trunk(z, cfg_net, image_shape, sync_bn)


def discriminator_trunk(x, cfg_net, sync_bn=False):
    return _arch(cfg_net, "d").discriminator_trunk(x, cfg_net, sync_bn)


def discriminator_features(x, cfg_net, sync_bn=False):
    """(D's last feature map, or None for nets without one, and the flat features the heads read)."""
    return _arch(cfg_net, "d").discriminator_features(x, cfg_net, sync_bn)


def score_head(feats, cfg_net, units: int = 1, name: str = "d_score", feature_map=None):
    """A linear head on D's features (float32 under mixed precision), spectrally normalised with the rest of D.
    With net.d_score_head=conv and the feature map given, it is a conv whose kernel covers the whole map (valid
    padding; e.g. the 4x4 conv head of the PyTorch DCGANs): the same function as the Dense head, drawn as a conv."""
    sn, pit, init = cfg_net["spectral_norm"], cfg_net["sn_power_iterations"], initializer(cfg_net["weights_init"])
    if (cfg_net.get("d_score_head") or "dense") == "conv" and feature_map is not None and not cfg_net.get("d_fc"):
        h, w = feature_map.shape[1], feature_map.shape[2]
        conv = layers.Conv2D(units, (h, w), padding="valid", use_bias=cfg_net.get("conv_bias") is not False,
                             kernel_initializer=init, dtype="float32", name=name)
        return layers.Reshape((units,), dtype="float32", name=f"{name}_flat")(maybe_sn(conv, sn, pit)(feature_map))
    dense = layers.Dense(units, kernel_initializer=init, dtype="float32", name=name)
    return maybe_sn(dense, sn, pit)(feats)


def build_generator(cfg_net: dict, image_shape, sync_bn: bool = False, name: str = "generator") -> keras.Model:
    z = keras.Input((cfg_net["latent_dim"],), name="z")
    return keras.Model(z, generator_trunk(z, cfg_net, image_shape, sync_bn), name=name)


def build_discriminator(cfg_net: dict, image_shape, sync_bn: bool = False, name: str = "discriminator") -> keras.Model:
    """Unconditional D: image -> one raw score (logit or critic value)."""
    img = keras.Input(tuple(image_shape), name="image")
    fmap, feats = discriminator_features(img, cfg_net, sync_bn)
    return keras.Model(img, score_head(feats, cfg_net, feature_map=fmap), name=name)
