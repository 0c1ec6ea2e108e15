"""The trained generators committed in saved_models/ load, keep their signatures, and serve the README's headline
commands right after install, from any working directory."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
from click.testing import CliRunner
from PIL import Image

from tests.conftest import REPO

SHIPPED = REPO / "saved_models"


def _load(name):
    import tensorflow as tf

    from keras_gans.export.savedmodel import load_export

    path = SHIPPED / name
    assert (path / "1" / "saved_model.pb").is_file(), f"{path} is missing: the shipped export must be committed"
    files = [f for f in path.rglob("*") if f.is_file()]
    size = sum(f.stat().st_size for f in files if f.suffix not in (".onnx", ".tflite"))
    assert size < 12 * 2**20, f"{name} SavedModel is {size / 2**20:.1f} MB; keep shipped exports to a few MB"
    total = sum(f.stat().st_size for f in files)
    assert total < 20 * 2**20, f"{name} with its ONNX/LiteRT files is {total / 2**20:.1f} MB (keep < 20 MB)"
    return load_export(path), tf


def test_shipped_acgan_signatures_and_conditions():
    loaded, tf = _load("acgan")
    assert {"serving_default", "generate", "conditions"} <= set(loaded.signatures)
    # batched like every signature (TF Serving's REST API refuses no-input and scalar signatures)
    metas = {m["name"]: m for m in json.loads(loaded.signatures["conditions"](request=tf.constant([0]))["json"].numpy()[0])}
    assert metas["hair"]["classes"][:3] == ["aqua", "black", "blonde"] and len(metas["hair"]["classes"]) == 12
    assert len(metas["eyes"]["classes"]) == 11
    out = loaded.signatures["generate"](seed=tf.constant([1, 2, 3], tf.int64), hair=tf.constant([2, 2, 2]),
                                        eyes=tf.constant([2, 2, 2]))
    images = out["images"].numpy()
    assert images.shape == (3, 64, 64, 3) and images.dtype == np.uint8
    assert images.std() > 20  # faces, not a flat colour
    assert np.abs(images[0].astype(int) - images[1].astype(int)).mean() > 5  # another seed, another face
    z = tf.random.stateless_normal([2, 100], seed=[0, 0])
    assert loaded.signatures["serving_default"](z=z, hair=tf.constant([0, 1]), eyes=tf.constant([0, 1]))["images"].shape == (2, 64, 64, 3)


def test_shipped_ukiyoe_signatures_direction():
    loaded, tf = _load("ukiyoe")
    # shipped with cyclegan.export_directions=to_style: photo -> ukiyo-e only (half the size)
    assert {"serving_default", "b2a", "b2a_bytes", "directions"} <= set(loaded.signatures)
    meta = json.loads(loaded.signatures["directions"](request=tf.constant([0]))["json"].numpy()[0])
    assert meta["photo_domain"] == "B" and meta["photo2style"] == "b2a"
    photo = np.random.default_rng(0).integers(0, 256, (1, 37, 53, 3), dtype=np.uint8)
    out = loaded.signatures["b2a"](images=tf.constant(photo))["images"].numpy()
    assert out.shape == photo.shape and out.dtype == np.uint8


def test_sample_shipped_acgan_from_the_cli(tmp_path):
    from keras_gans.cli import main

    out = tmp_path / "faces.png"
    res = CliRunner().invoke(main, ["sample", str(SHIPPED / "acgan"), "--hair", "blonde", "--eyes", "blue", "--n", "16",
                                    "--out", str(out)])
    assert res.exit_code == 0, res.output
    grid = np.asarray(Image.open(out))
    assert grid.shape[0] > 4 * 64 and grid.shape[1] > 4 * 64
    out = tmp_path / "vary.png"
    res = CliRunner().invoke(main, ["sample", str(SHIPPED / "acgan"), "--vary", "hair", "--n", "4", "--out", str(out)])
    assert res.exit_code == 0, res.output
    assert np.asarray(Image.open(out)).shape[0] > 12 * 64  # one row per hair colour


def test_transfer_ukiyoe_finds_the_shipped_model_from_any_folder(tmp_path, monkeypatch):
    from keras_gans.cli import main

    photo = np.random.default_rng(1).integers(0, 256, (45, 70, 3), dtype=np.uint8)
    Image.fromarray(photo).save(tmp_path / "photo.jpg")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)  # no saved_models/ here: the repository's shipped export must be found
    res = CliRunner().invoke(main, ["transfer", "ukiyoe", "--input", str(tmp_path / "photo.jpg"), "--output", "out"])
    assert res.exit_code == 0, res.output
    assert "b2a" in res.output
    out = np.asarray(Image.open(Path("out") / "photo.jpg"))
    assert out.shape == photo.shape
    assert os.path.getsize(Path("out") / "photo.jpg") > 500
