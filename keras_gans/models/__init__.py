"""Model families by config name (`model:` key). Each is a GenerativeModel subclass that supplies its losses and
updates (`step_updates`) to the core's train_step and declares its capabilities (models/capabilities.py).
Imported lazily, so a command pays only for the family it uses; the light modules here (capabilities,
NAME_config) import no TensorFlow. How to add one: docs/extending.md."""

from __future__ import annotations

import importlib

from keras_gans.errors import UserError

FAMILIES: dict[str, str] = {
    "gan": "keras_gans.models.gan:GAN",
    "cgan": "keras_gans.models.conditional:ConditionalGAN",
    "acgan": "keras_gans.models.conditional:ConditionalGAN",
    "vae": "keras_gans.models.vae:VAE",
    "cyclegan": "keras_gans.models.cyclegan:CycleGAN",
    "cut": "keras_gans.models.cut:CUT",  # contrastive unpaired translation (CUT / FastCUT)
    "template": "keras_gans.models.template:TemplateGAN",  # the smallest family, to copy (docs/extending.md)
}


def family_class(name: str):
    if name not in FAMILIES:
        raise UserError(f"unknown model family '{name}'; known: {', '.join(sorted(FAMILIES))}")
    module, attr = FAMILIES[name].split(":")
    try:
        return getattr(importlib.import_module(module), attr)
    except ModuleNotFoundError as e:
        if e.name == module:
            raise UserError(f"model family '{name}' is not available in this version") from None
        raise


def create_model(cfg: dict, data_info: dict):
    return family_class(cfg["model"])(cfg, data_info)
