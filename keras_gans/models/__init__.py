"""Model families by config name (`model:` key). Each is a GenerativeModel subclass owning its train_step."""

from __future__ import annotations

from keras_gans.errors import UserError
from keras_gans.models.base import GenerativeModel
from keras_gans.models.gan import GAN

FAMILIES: dict[str, type[GenerativeModel]] = {"gan": GAN}


def family_class(name: str) -> type[GenerativeModel]:
    if name not in FAMILIES:
        raise UserError(f"unknown model family '{name}'; known: {', '.join(sorted(FAMILIES))}")
    return FAMILIES[name]


def create_model(cfg: dict, data_info: dict) -> GenerativeModel:
    return family_class(cfg["model"])(cfg, data_info)
