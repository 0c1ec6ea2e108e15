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
    from keras_gans.config.loader import DEFAULTS, validate

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


# Overrides for a GAN that trains in seconds, as --set pairs for the CLI and as {key: value} for load_config.
TINY_OVERRIDES = {
    "data.image_size": 16, "data.max_images": 160, "net.dim": 8, "net.latent_dim": 16, "net.mlp_units": [32, 64],
    "train.batch_size": 8, "train.epochs": 1, "train.steps_per_epoch": 2, "train.verbose": 0,
    "callbacks.n_samples": 4, "callbacks.tensorboard": False, "callbacks.export_at_end": False,
}
TINY_CLI = ["--set", "data.image_size=16", "--set", "net.dim=8", "--set", "net.latent_dim=16",
            "--set", "train.steps_per_epoch=2", "--set", "callbacks.tensorboard=false", "--set", "train.verbose=0"]


def cycle_config(tmp_path=None, **cyc) -> dict:
    """A CycleGAN that trains in seconds: 16 px built-in scenes, one-block nets, a pool of 3."""
    cfg = tiny_config(
        callbacks={"export_dir": str(tmp_path / "sm") if tmp_path else "saved_models", "n_samples": 4},
        train={"batch_size": 2, "steps_per_epoch": 2, "epochs": 2},
    )
    cfg["name"] = "cyc"
    cfg["model"] = "cyclegan"
    cfg["data"].update({"builtin": "scenes", "image_size": 16, "channels": 3})
    cfg["cyclegan"].update({"g_filters": 4, "n_blocks": 1, "d_filters": 4, "d_layers": 2, "pool_size": 3,
                            "n_test_samples": 2, "scenes_per_domain": 6})
    cfg["cyclegan"].update(cyc)
    from keras_gans.config.loader import validate

    return validate(cfg)


def run_cli(*args):
    """`python cli.py ARGS...` in this process (click's runner); every argument is passed as a string."""
    from click.testing import CliRunner

    from keras_gans.cli import main

    return CliRunner().invoke(main, [str(a) for a in args])


def assert_user_error(res, *needles, last_line=False):
    """Exit status 2 and one `error: ...` line on stderr (no traceback) that names each needle. last_line: judge
    only stderr's last line (where warnings may come before it)."""
    assert res.exit_code == 2, (res.exit_code, res.output, res.exception)
    lines = res.stderr.strip().splitlines()
    err = lines[-1] if last_line else res.stderr.strip()
    assert err.startswith("error: ") and "Traceback" not in res.stderr, res.stderr
    assert last_line or len(lines) == 1, res.stderr
    for n in needles:
        assert n in err, err


def train_straight_and_resumed(cfg: dict, tmp_path):
    """(model of `cfg` trained in one go, model of the same config stopped after epoch 1 and resumed with --resume):
    the pair every exact-resume test compares."""
    import copy

    import keras

    from keras_gans.training.driver import train

    full, _, _ = train(copy.deepcopy(cfg), tmp_path / "full")

    class StopAfterOne(keras.callbacks.Callback):  # an interrupted run: the same config, stopped after epoch 1
        def on_epoch_end(self, epoch, logs=None):
            self.model.stop_training = True

    train(copy.deepcopy(cfg), tmp_path / "resumed", extra_callbacks=[StopAfterOne()])
    resumed, _, _ = train(copy.deepcopy(cfg), tmp_path / "resumed", resume=True)
    return full, resumed
