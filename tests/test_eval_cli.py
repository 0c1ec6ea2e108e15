"""evaluate / interpolate / compare on a tiny trained run, and FID over training in history.csv."""

from __future__ import annotations

import csv
import json

import numpy as np
import pytest
from click.testing import CliRunner
from PIL import Image

from tests.conftest import tiny_config


@pytest.fixture(scope="module")
def classifier(digit_classifier):
    return digit_classifier[0]


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory, classifier):
    """A 3-step GAN on 16 px digits that also measures FID each epoch with the classifier's features."""
    from keras_gans.training.driver import train

    run = tmp_path_factory.mktemp("run") / "r1"
    cfg = tiny_config(eval={"every": 1, "n": 48, "features": str(classifier), "data": None})
    cfg["train"]["epochs"] = 2
    train(cfg, run, verbose=0)
    return run


def test_fid_over_training_lands_in_history(tiny_run):
    rows = list(csv.DictReader(open(tiny_run / "history.csv")))
    assert len(rows) == 2 and all(float(r["fid"]) > 0 for r in rows)


def test_evaluate_writes_eval_json(tiny_run, classifier, digits_dir):
    from keras_gans.cli import main

    data = digits_dir
    r = CliRunner().invoke(main, ["evaluate", str(tiny_run), "--data", str(data), "--features", str(classifier),
                                  "--n", "150", "--seed", "3", "--bootstrap", "5"])
    assert r.exit_code == 0, r.output
    ev = json.loads((tiny_run / "eval.json").read_text())
    assert ev["n_generated"] == 150 and ev["n_real"] == 150 and ev["seed"] == 3 and ev["epoch"] == 2
    assert ev["features"]["name"] == "classifier" and ev["features"]["dim"] == 128
    m = ev["metrics"]
    assert m["fid"] > 0 and np.isfinite(m["kid"]["mean"]) and 1.0 <= m["is"]["mean"] <= 10.0
    assert 0 <= m["pr"]["precision"] <= 1 and sum(m["collapse"]["histogram"]) == 150
    assert "accuracy" not in m and any("accuracy skipped" in n for n in ev["notes"])
    assert "fid" in r.output and "wrote" in r.output
    # asking for a metric that cannot apply is one clear error
    r = CliRunner().invoke(main, ["evaluate", str(tiny_run), "--data", str(data), "--features", str(classifier),
                                  "--n", "16", "--metrics", "accuracy"])
    assert r.exit_code == 2 and "unconditional" in r.output
    r = CliRunner().invoke(main, ["evaluate", str(tiny_run), "--data", str(data), "--metrics", "fid,bogus"])
    assert r.exit_code == 2 and "bogus" in r.output


def test_interpolate_rows_run_between_sample_endpoints(tiny_run, tmp_path):
    from keras_gans.cli import main
    from keras_gans.core.images import make_grid
    from keras_gans.training.build import load_run

    out = tmp_path / "interp.png"
    r = CliRunner().invoke(main, ["interpolate", str(tiny_run), "--steps", "5", "--pairs", "3", "--out", str(out),
                                  "--cell", "0"])  # the raw size: 16 px cells
    assert r.exit_code == 0, r.output
    grid = np.asarray(Image.open(out))
    _, model, _ = load_run(tiny_run)
    ends = model.sample_from_seeds(np.arange(6))
    # grid of 3 rows x 5 columns of 16 px images with 2 px padding; first/last column = sample images 2i / 2i+1
    assert grid.shape[:2] == (3 * 18 + 2, 5 * 18 + 2)
    for i in range(3):
        y = 2 + i * 18
        np.testing.assert_allclose(grid[y : y + 16, 2 : 18].astype(int), ends[2 * i, ..., 0].astype(int), atol=2)
        np.testing.assert_allclose(grid[y : y + 16, 74 : 90].astype(int), ends[2 * i + 1, ..., 0].astype(int), atol=2)
    assert make_grid(ends).dtype == np.uint8


def test_slerp_keeps_norm_between_endpoints():
    from keras_gans.models.latent import interpolate_latents

    rng = np.random.default_rng(0)
    z0, z1 = rng.normal(size=(2, 64)), rng.normal(size=(2, 64))
    z1 = z1 / np.linalg.norm(z1, axis=1, keepdims=True) * np.linalg.norm(z0, axis=1, keepdims=True)
    s = interpolate_latents(z0, z1, 7, "slerp")
    lin = interpolate_latents(z0, z1, 7, "linear")
    np.testing.assert_allclose(s[:, 0], z0, rtol=1e-5)
    np.testing.assert_allclose(s[:, -1], z1, rtol=1e-5)
    norms = np.linalg.norm(s, axis=-1)
    np.testing.assert_allclose(norms, norms[:, :1].repeat(7, 1), rtol=1e-4)
    assert np.linalg.norm(lin[:, 3], axis=-1).max() < norms[:, 3].min()


def test_compare_writes_figure_and_table(tiny_run, tmp_path):
    from keras_gans.cli import main

    out = tmp_path / "cmp"
    r = CliRunner().invoke(main, ["compare", str(tiny_run), str(tiny_run), "--out", str(out), "--n", "4"])
    assert r.exit_code == 0, r.output
    assert (out / "compare.png").stat().st_size > 1000
    rows = list(csv.DictReader(open(out / "metrics.csv")))
    assert len(rows) == 2 and rows[0]["run"] == tiny_run.name
    assert (out / "metrics.md").read_text().startswith("| run |")


def test_interpolate_uses_the_runs_z_std_and_accepts_z_std(tmp_path):
    """A run trained on z ~ N(0, 3^2): interpolate's endpoints are `sample`'s images for the same seeds and sigma,
    its middle is G of the linear midpoint of those 3-sigma latents, and --z-std overrides sigma as in `sample`."""
    import tensorflow as tf

    from keras_gans.cli import main
    from keras_gans.models.latent import seeds_to_latent
    from keras_gans.training.build import load_run
    from keras_gans.training.driver import train

    cfg = tiny_config(net={"z_std": 3.0, "weights_init": 0.3})
    cfg["train"]["steps_per_epoch"] = 1
    run = tmp_path / "run"
    train(cfg, run, verbose=0)
    _, model, _ = load_run(run)
    assert model.z_std == 3.0

    def walk(*extra):
        out = tmp_path / f"walk{len(extra)}.png"
        r = CliRunner().invoke(main, ["interpolate", str(run), "--from", "11", "--to", "12", "--steps", "3",
                                      "--method", "linear", "--cell", "0", "--out", str(out), *extra])
        assert r.exit_code == 0, r.output
        g = np.asarray(Image.open(out), np.int32)
        return [g[2:18, 2 + 18 * i: 18 + 18 * i] for i in range(3)]

    first, mid, last = walk()
    ends = model.sample_from_seeds([11, 12])[..., 0].astype(np.int32)  # sigma 3 (the run's)
    np.testing.assert_allclose(first, ends[0], atol=1)
    np.testing.assert_allclose(last, ends[1], atol=1)
    z = seeds_to_latent(tf.constant([11, 12], tf.int64), 16, 3.0)
    np.testing.assert_allclose(tf.norm(z, axis=1).numpy() / tf.norm(seeds_to_latent(
        tf.constant([11, 12], tf.int64), 16), axis=1).numpy(), [3.0, 3.0], rtol=1e-5)
    want_mid = model.generate((z[:1] + z[1:]) / 2.0, training=False)
    from keras_gans.core.images import to_uint8

    np.testing.assert_allclose(mid, to_uint8(want_mid)[0, ..., 0].astype(np.int32), atol=1)
    model.z_std = 1.0  # what the command drew before the fix: visibly another image
    unit = model.sample_from_seeds([11])[0, ..., 0].astype(np.int32)
    assert np.abs(first - unit).mean() > 3
    # --z-std 1 overrides the run's sigma, and gives `sample --z-std 1`'s image for the same seed
    first1, _, _ = walk("--z-std", "1")
    np.testing.assert_allclose(first1, unit, atol=1)
    r = CliRunner().invoke(main, ["interpolate", str(run), "--z-std", "0"])
    assert r.exit_code == 2 and "--z-std must be > 0" in r.output
