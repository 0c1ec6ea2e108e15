"""`export --format onnx|litert`: files beside the SavedModel whose outputs are within 1/255 of the SavedModel's for
the same seeds and labels (CycleGAN: the same photo), for a fresh run, the tiny exports of every kind, and the
shipped models."""

from __future__ import annotations

import shutil

import numpy as np
import pytest
from click.testing import CliRunner

from conftest import REPO, tiny_config

pytest.importorskip("tf2onnx")
pytest.importorskip("onnxruntime")
pytest.importorskip("ai_edge_litert")

SHIPPED = REPO / "saved_models"


def _latent_inputs(sig, seeds, labels: dict):
    """The inputs of serving_default for `seeds`: z drawn as the export's `generate` draws it, and the labels."""
    import tensorflow as tf

    from keras_gans.models.latent import seeds_to_latent

    latent = int(sig.structured_input_signature[1]["z"].shape[-1])
    z = seeds_to_latent(tf.constant(np.asarray(seeds, np.int64)), latent).numpy()
    return {"z": z, **labels}


def _check(version_dir, name: str, inputs: dict, formats=("onnx", "litert"), min_std: float = 1.0) -> dict:
    """Largest difference (uint8 levels) of each format file from the SavedModel signature on `inputs`."""
    import tensorflow as tf

    from keras_gans.export.formats import FORMATS, run_file

    sig = tf.saved_model.load(str(version_dir)).signatures[name]
    want = next(iter(sig(**{k: tf.constant(v) for k, v in inputs.items()}).values())).numpy()
    worst = {}
    for fmt in formats:
        got = run_file(version_dir / f"{name}{FORMATS[fmt]}", fmt, inputs)
        assert got.shape == want.shape and got.dtype == np.uint8, (fmt, got.shape, got.dtype)
        worst[fmt] = int(np.abs(got.astype(int) - want.astype(int)).max())
    assert want.std() > min_std, "a blank output proves nothing"
    return worst


def test_export_run_with_formats_matches_the_savedmodel(tmp_path):
    from keras_gans.cli import main
    from keras_gans.training.driver import train

    cfg = tiny_config()
    _, run, _ = train(cfg, tmp_path / "run", verbose=0)
    res = CliRunner().invoke(main, ["export", str(run), "--out", str(tmp_path / "sm"), "--name", "g",
                                    "--format", "onnx", "--format", "litert"])
    assert res.exit_code == 0, res.output
    version = tmp_path / "sm" / "g" / "1"
    assert {"serving_default.onnx", "serving_default.tflite", "saved_model.pb"} <= {p.name for p in version.iterdir()}
    assert not [p for p in version.iterdir() if p.name.startswith(".")]  # no temporary file left
    import tensorflow as tf

    sig = tf.saved_model.load(str(version)).signatures["serving_default"]
    # an untrained tiny DCGAN draws near-uniform gray (std 0.46 levels): the contrasty exports are checked below
    worst = _check(version, "serving_default", _latent_inputs(sig, np.arange(8), {}), min_std=0.2)
    assert max(worst.values()) <= 1, worst


def test_formats_of_a_conditional_and_a_cyclegan_export(tmp_path):
    import tensorflow as tf

    from demo_exports import make_exports
    from keras_gans.export.formats import write_formats

    exports = make_exports(tmp_path)
    cond = exports["cond"] / "1"
    written = write_formats(cond, ["onnx", "litert"])
    assert sorted(p.name for p in written) == ["serving_default.onnx", "serving_default.tflite"]
    sig = tf.saved_model.load(str(cond)).signatures["serving_default"]
    n = 6
    labels = {"hair": np.arange(n, dtype=np.int32) % 3, "eyes": np.arange(n, dtype=np.int32) % 2,
              "objects": (np.random.default_rng(0).random((n, 3)) < 0.5).astype(np.float32),
              "smiling": np.ones((n, 1), np.float32)}
    assert max(_check(cond, "serving_default", _latent_inputs(sig, np.arange(n) + 100, labels)).values()) <= 1

    cyc = exports["cyc"] / "1"
    written = write_formats(cyc, ["onnx", "litert"])
    assert sorted(p.name for p in written) == ["a2b.onnx", "a2b.tflite", "b2a.onnx", "b2a.tflite"]
    photo = np.random.default_rng(2).integers(0, 256, (3, 16, 16, 3), dtype=np.uint8)  # the working size
    for d in ("a2b", "b2a"):
        assert max(_check(cyc, d, {"images": photo}).values()) <= 1


def test_missing_runtime_is_one_line_and_nothing_written(tmp_path, monkeypatch):
    import keras_gans.export.formats as ef
    from keras_gans.cli import main

    from demo_exports import make_exports

    latent = make_exports(tmp_path)["latent"]
    monkeypatch.setattr(ef, "_importable", lambda m: m != "onnxruntime")
    res = CliRunner().invoke(main, ["export", "--upgrade", str(latent), "--format", "onnx"])
    assert res.exit_code == 2 and 'pip install -e ".[onnx]"' in res.output
    assert not list((latent / "1").glob("*.onnx"))


def test_shipped_acgan_files_match_its_savedmodel():
    """The shipped acgan carries serving_default.onnx / .tflite: the same seeds and labels give its pixels within 1."""
    import tensorflow as tf

    version = SHIPPED / "acgan" / "1"
    sig = tf.saved_model.load(str(version)).signatures["serving_default"]
    n = 24
    labels = {"hair": np.arange(n, dtype=np.int32) % 12, "eyes": np.arange(n, dtype=np.int32) % 11}
    worst = _check(version, "serving_default", _latent_inputs(sig, np.arange(n), labels))
    assert max(worst.values()) <= 1, worst


@pytest.mark.slow
def test_shipped_ukiyoe_converts_to_both_formats_with_the_same_photo(tmp_path):
    """The shipped CycleGAN (no run): both files from the export alone, the same photo at the working size."""
    import tensorflow as tf

    from keras_gans.export.formats import write_formats

    version = tmp_path / "1"
    shutil.copytree(SHIPPED / "ukiyoe" / "1", version)
    write_formats(version, ["onnx", "litert"])
    photos = sorted((REPO.parent / "shared" / "data" / "ukiyoe2photo" / "testB").glob("*.jpg"))[:4]
    if photos:
        batch = np.stack([tf.image.resize(tf.io.decode_jpeg(p.read_bytes()), [64, 64], antialias=True).numpy()
                          .round().clip(0, 255).astype(np.uint8) for p in photos])
    else:
        batch = np.random.default_rng(0).integers(0, 256, (4, 64, 64, 3), dtype=np.uint8)
    worst = _check(version, "b2a", {"images": batch})
    assert max(worst.values()) <= 1, worst
