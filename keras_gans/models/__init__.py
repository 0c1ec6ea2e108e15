"""Model families by config name (`model:` key). Each is a GenerativeModel subclass that supplies its losses and
updates (`step_updates`) to the core's train_step and declares its capabilities (models/capabilities.py).
Imported lazily, so a command pays only for the family it uses; the light modules here (capabilities,
NAME_config) import no TensorFlow. How to add one: docs/extending.md."""

from __future__ import annotations

import importlib

from keras_gans.core.errors import UserError

FAMILIES: dict[str, str] = {
    "gan": "keras_gans.models.gan:GAN",
    "cgan": "keras_gans.models.conditional:ConditionalGAN",
    "acgan": "keras_gans.models.conditional:ConditionalGAN",
    "vae": "keras_gans.models.vae:VAE",
    "cyclegan": "keras_gans.models.cyclegan:CycleGAN",
    "cut": "keras_gans.models.cut:CUT",  # contrastive unpaired translation (CUT / FastCUT)
    "template": "keras_gans.models.template:TemplateGAN",  # the smallest family, to copy (docs/extending.md)
    "template_translator": "keras_gans.models.template_translator:TemplateTranslator",  # ... and image-to-image
}


def family_sections() -> tuple:
    """The config modules of the registered families, once each, in FAMILIES order: for a family at
    "pkg.mod:Class", the module "pkg.mod_config" where it exists (light: no TensorFlow). Each declares SECTION,
    FAMILIES, DEFAULTS, NULLABLE, CHOICES, RANGES and validate (and optionally SHARED_NOT_READ, SHARED_FIXED, MOVED);
    the config schema composes them in this order, so a family registers once, here."""
    out = []
    for target in FAMILIES.values():
        name = target.split(":")[0] + "_config"
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as e:
            if e.name == name:
                continue  # a family without a section of its own (template: it reads the shared sections)
            raise
        if module not in out:
            out.append(module)
    return tuple(out)


DEFAULT_FAMILY = "gan"  # the config's `model` when a preset names none


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


def family_has(name: str, capability: str) -> bool:
    """Whether family `name` declares the capability (models/capabilities.py); imports the family's module."""
    from keras_gans.models.capabilities import has

    return has(family_class(name), capability)


def without_family(name: str) -> str:
    """A preset or run name without a leading family name, for people and for short preset names:
    'F_ukiyoe' -> 'ukiyoe' for any family F, a bare family name -> '', any other name as it is."""
    name = str(name)
    for family in sorted(FAMILIES, key=len, reverse=True):
        if name == family:
            return ""
        if name.startswith(family + "_"):
            return name[len(family) + 1:]
    return name


def create_model(cfg: dict, data_info: dict):
    """The model of cfg['model'], built by its family from the config (`from_config`: nets and optimizers made there
    and passed to the model)."""
    return family_class(cfg["model"]).from_config(cfg, data_info)
