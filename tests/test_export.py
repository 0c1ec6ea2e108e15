"""SavedModel export: TF Serving layout, both signatures, same pixels as Keras in a fresh process."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest

from conftest import REPO, tiny_config


@pytest.mark.parametrize("precision", ["float32", "mixed_bfloat16"])
def test_export_round_trip_in_fresh_process(tmp_path, precision):
    from keras_gans.export.savedmodel import export_model
    from keras_gans.core.images import to_uint8
    from keras_gans.training.driver import train

    cfg = tiny_config(callbacks={"export_dir": str(tmp_path / "sm")}, train={"mixed_precision": precision})
    model, run, _ = train(cfg, tmp_path / "run", verbose=0)
    path = export_model(model, tmp_path / "saved_models", "digits", version=3)
    assert path == tmp_path / "saved_models" / "digits" / "3"
    assert (path / "saved_model.pb").is_file() and (path / "variables").is_dir()

    z = np.random.default_rng(0).normal(size=(5, cfg["net"]["latent_dim"])).astype(np.float32)
    np.save(tmp_path / "z.npy", z)
    expected = to_uint8(model.generate(z, training=False))
    seeds = np.array([3, 7, 11], np.int64)
    expected_seeded = model.sample_from_seeds(seeds)

    script = f"""
import json, numpy as np, tensorflow as tf
m = tf.saved_model.load({str(path)!r})
z = np.load({str(tmp_path / 'z.npy')!r})
out = m.signatures['serving_default'](z=tf.constant(z))
g = m.signatures['generate'](seed=tf.constant([3, 7, 11], tf.int64))
np.save({str(tmp_path / 'a.npy')!r}, out['images'].numpy())
np.save({str(tmp_path / 'b.npy')!r}, g['images'].numpy())
pngs = [tf.io.decode_png(b).numpy() for b in g['image_bytes'].numpy()]
np.save({str(tmp_path / 'c.npy')!r}, np.stack(pngs))
print(json.dumps({{k: str(v.dtype.name) for k, v in out.items()}}))
"""
    res = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, cwd=REPO, timeout=300)
    assert res.returncode == 0, res.stderr[-2000:]
    assert json.loads(res.stdout.strip().splitlines()[-1]) == {"images": "uint8"}
    got = np.load(tmp_path / "a.npy")
    assert got.dtype == np.uint8 and got.shape == (5, 16, 16, 1)
    assert np.abs(got.astype(int) - expected.astype(int)).max() <= 1  # uint8 rounding
    np.testing.assert_array_equal(np.load(tmp_path / "b.npy"), expected_seeded)
    np.testing.assert_array_equal(np.load(tmp_path / "c.npy"), expected_seeded)

    show = subprocess.run(
        [sys.executable, "-m", "tensorflow.python.tools.saved_model_cli", "show", "--dir", str(path), "--all"],
        capture_output=True, text=True, timeout=300,
    )
    assert show.returncode == 0, show.stderr[-2000:]
    assert "signature_def['serving_default']" in show.stdout and "signature_def['generate']" in show.stdout
    assert "image_bytes" in show.stdout


def test_next_version_and_atomic_layout(tmp_path):
    from keras_gans.export.savedmodel import export_model
    from keras_gans.training.build import build_model
    from keras_gans.data.builtin import load_digits
    from keras_gans.models.gan import GAN

    cfg = tiny_config()
    _, info = GAN.prepare_data(cfg, load_digits(16))
    model = build_model(cfg, info)
    p1 = export_model(model, tmp_path, "m")
    p2 = export_model(model, tmp_path, "m")
    assert [p1.name, p2.name] == ["1", "2"]
    # nothing but the version folders is left behind (temporary folders are renamed or removed)
    assert sorted(p.name for p in (tmp_path / "m").iterdir()) == ["1", "2"]


def test_export_cli_float32_from_a_bf16_run_saves_each_variable_once(tmp_path):
    """`export RUN --precision float32` (how the shipped models were made): float32 compute whatever the run
    trained in, close to the bf16 run's pixels; and the export stores each generator weight once."""
    import tensorflow as tf
    from click.testing import CliRunner

    from keras_gans.cli import main
    from keras_gans.training.driver import train

    cfg = tiny_config(train={"mixed_precision": "mixed_bfloat16", "steps_per_epoch": 2})
    model, run, _ = train(cfg, tmp_path / "run", verbose=0)
    seeds = np.array([1, 2, 3], np.int64)
    bf16_pixels = model.sample_from_seeds(seeds)
    res = CliRunner().invoke(main, ["export", str(run), "--out", str(tmp_path / "sm"), "--name", "t", "--precision",
                                    "float32", "--set", "train.seed=0"])
    assert res.exit_code == 0, res.output
    path = tmp_path / "sm" / "t" / "1"
    loaded = tf.saved_model.load(str(path))
    got = loaded.signatures["generate"](seed=tf.constant(seeds))["images"].numpy()
    assert got.shape == bf16_pixels.shape
    assert np.abs(got.astype(int) - bf16_pixels.astype(int)).mean() < 4  # the same weights; bf16 vs float32 rounding
    weights = sum(int(np.prod(w.shape)) for w in model.sampling_generator.weights) * 4
    data = sum(f.stat().st_size for f in (path / "variables").glob("variables.data-*"))
    assert data < 1.3 * weights, (data, weights)  # Keras' ExportArchive alone saves every variable twice
    res = CliRunner().invoke(main, ["export", str(run), "--out", str(tmp_path / "sm"), "--set", "net.dim=abc"])
    assert res.exit_code == 2
