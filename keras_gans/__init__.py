"""keras_gans: a Keras 3 / TensorFlow workbench for the classic GAN family.

The public entry points, resolved on first use (importing keras_gans imports no TensorFlow):

    import keras_gans
    cfg = keras_gans.load_config("dcgan", {"train.epochs": 1})
    model, run_dir, history = keras_gans.train(cfg, "runs/dcgan")
    cfg, model, epoch = keras_gans.load_run("runs/dcgan")
    keras_gans.export_model(model, "saved_models")

The code lives in folders by import layer (docs/extending.md, "The layers"): core/ (0), data/, nets/, parts/ (1),
models/ (2), metrics/, export/ (3), config/ (4), training/ (5), commands/, demo/ and cli.py (6).
"""

from __future__ import annotations

import importlib

_ENTRY_POINTS = {
    "train": "training.driver:train",
    "load_config": "config.loader:load_config",
    "build_model": "training.build:build_model",
    "load_run": "training.build:load_run",
    "export_model": "export.savedmodel:export_model",
    "load_export": "export.savedmodel:load_export",
    "UserError": "core.errors:UserError",
    "main": "cli:main",
}

__all__ = sorted(_ENTRY_POINTS)


def __getattr__(name: str):
    if name not in _ENTRY_POINTS:
        raise AttributeError(f"module 'keras_gans' has no attribute {name!r}")
    module, attr = _ENTRY_POINTS[name].split(":")
    value = getattr(importlib.import_module(f"keras_gans.{module}"), attr)
    globals()[name] = value  # resolved once
    return value


def __dir__():
    return sorted(set(globals()) | set(_ENTRY_POINTS))
