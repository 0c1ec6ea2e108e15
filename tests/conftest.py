"""Shared test fixtures: real data from ../shared when present (skipped cleanly when absent), tiny configs."""

from __future__ import annotations

import copy
import os
from pathlib import Path

import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

REPO = Path(__file__).resolve().parent.parent
SHARED_DATA = REPO.parent / "shared" / "data"


def shared_data(name: str) -> Path:
    p = SHARED_DATA / name
    if not p.exists():
        pytest.skip(f"../shared/data/{name} is not present on this machine")
    return p


@pytest.fixture(scope="session")
def digits_dir(tmp_path_factory) -> Path:
    """The 1,797 UCI digits (32 px, one sub-folder per class) written from the built-in set by `data make digits`'s
    code: pixel for pixel the ../shared/data/uci-digits folder, on any clean checkout."""
    from keras_gans.commands.data import write_class_folders

    out = tmp_path_factory.mktemp("digits") / "uci-digits"
    write_class_folders("digits", out)
    return out


@pytest.fixture(scope="session")
def digit_classifier(tmp_path_factory, digits_dir):
    """(path, metadata) of a small classifier trained on a subset of the UCI digits (16 px), once per session."""
    from keras_gans.metrics.classifier import train_classifier

    out = tmp_path_factory.mktemp("clf") / "digits.keras"
    meta = train_classifier(digits_dir, out, image_size=16, epochs=10, batch_size=32, max_per_class=100, verbose=0)
    return out, meta


@pytest.fixture(autouse=True)
def _isolated_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("KERAS_GANS_CACHE", str(tmp_path / "cache"))
    yield
    import keras

    keras.mixed_precision.set_global_policy("float32")


def tiny_config(**sections) -> dict:
    """A small, fast GAN config over the defaults (16 px digits, narrow nets, no TensorBoard/export)."""
    from keras_gans.config import DEFAULTS, validate

    cfg = copy.deepcopy(DEFAULTS)
    cfg["data"]["image_size"] = 16
    cfg["net"]["dim"] = 8
    cfg["net"]["latent_dim"] = 16
    cfg["train"]["batch_size"] = 16
    cfg["train"]["epochs"] = 1
    cfg["train"]["steps_per_epoch"] = 3
    cfg["train"]["verbose"] = 0
    cfg["train"]["mixed_precision"] = "float32"  # exact comparisons; bf16 has its own tests
    cfg["callbacks"]["n_samples"] = 16
    cfg["callbacks"]["tensorboard"] = False
    cfg["callbacks"]["export_at_end"] = False
    for sec, vals in sections.items():
        if isinstance(vals, dict):
            cfg[sec].update(vals)
        else:
            cfg[sec] = vals
    return validate(cfg)
