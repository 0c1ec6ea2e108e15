"""Issue 25, item 4: the recipe "add an image-to-image family" (docs/extending.md) is proven. The template
translator trains for a few steps through the normal driver on the project's own two-domain scenes, then
`transfer` (on its run, and on its export) and the demo's logic serve it -- neither names it: they ask for the
TRANSLATOR capability and read the export's signatures (tests/test_family_names.py keeps it so)."""

from __future__ import annotations

import copy
import io
import json

import numpy as np
import pytest
from click.testing import CliRunner
from PIL import Image


def translator_config(tmp_path):
    from conftest import tiny_config

    cfg = tiny_config(callbacks={"export_dir": str(tmp_path / "sm"), "n_samples": 4, "export_at_end": True},
                      train={"batch_size": 2, "steps_per_epoch": 2, "epochs": 2})
    cfg["name"], cfg["model"] = "tt", "template_translator"
    cfg["data"].update({"builtin": "scenes", "image_size": 16, "channels": 3})
    cfg["template_translator"].update({"g_filters": 4, "n_blocks": 1, "d_filters": 4, "d_layers": 2,
                                       "n_test_samples": 2, "scenes_per_domain": 6})
    from keras_gans.config.loader import validate

    return validate(cfg)


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    from keras_gans.training.driver import train

    tmp = tmp_path_factory.mktemp("tt")
    model, run_dir, _ = train(copy.deepcopy(translator_config(tmp)), tmp / "run")
    return tmp, model, run_dir


@pytest.fixture(scope="module")
def photos(tmp_path_factory):
    """Real-ish inputs at their own sizes and formats: procedural photos (data/domains.py) as PNG and JPEG."""
    from keras_gans.data.domains import render_photo

    src = tmp_path_factory.mktemp("photos")
    rng = np.random.default_rng(5)
    Image.fromarray(render_photo(rng, 48)[:30, :40]).save(src / "wide.png")
    (src / "sub").mkdir()
    Image.fromarray(render_photo(rng, 48)[:41, :23]).save(src / "sub" / "tall.jpg", quality=95)
    return src


def test_trains_through_the_driver(trained):
    from keras_gans.training.callbacks import read_csv
    from keras_gans.models.capabilities import TRANSLATOR, has

    tmp, model, run_dir = trained
    assert has(model, TRANSLATOR) and model.family == "template_translator"
    rows = read_csv(run_dir / "history.csv")
    assert len(rows) == 2
    for k in ("g_loss", "d_loss", "adv_loss", "content_loss", "g_grad_norm", "d_grad_norm"):
        assert np.isfinite(float(rows[-1][k])) and float(rows[-1][k]) >= 0, k
    assert int(model.step_counter.numpy()) == 4
    grid = np.asarray(Image.open(run_dir / "samples" / "epoch_0002.png"))
    assert grid.shape == (2 * 66 + 2, 2 * 66 + 2, 3)  # 2 test photos x (photo, translation), 16 px cells x4
    info = json.loads((run_dir / "data_info.json").read_text())
    assert info["image_shape"] == [16, 16, 3] and info["n_a"] == info["n_b"] == 6 and len(info["samples"]) == 2


def test_transfer_serves_the_run_and_the_export(trained, photos, tmp_path):
    from keras_gans.cli import main

    tmp, model, run_dir = trained
    export = tmp / "sm" / "tt"
    for source, out in ((run_dir, tmp_path / "from_run"), (export, tmp_path / "from_export")):
        res = CliRunner().invoke(main, ["transfer", str(source), "--input", str(photos), "--output", str(out)])
        assert res.exit_code == 0, (res.output, res.exception)
        assert "a2b" in res.output and "wrote 2 of 2" in res.output
        wide, tall = Image.open(out / "wide.png"), Image.open(out / "sub" / "tall.jpg")
        assert wide.size == (40, 30) and tall.size == (23, 41) and tall.format == "JPEG"
        px = np.asarray(wide)
        assert px.dtype == np.uint8 and px.shape == (30, 40, 3) and px.std() > 1.0  # an image, not a flat fill
        want = model.transfer(np.asarray(Image.open(photos / "wide.png"))[None], "a2b")[0]
        assert np.abs(px.astype(int) - want.astype(int)).max() <= 1  # the run and the export give the same picture
    # one direction only: asking for the other is one clear line, exit 2
    res = CliRunner().invoke(main, ["transfer", str(run_dir), "--input", str(photos), "--output", str(tmp_path / "x"),
                                    "--direction", "to-photo"])
    assert res.exit_code == 2 and "a2b only" in res.stderr and "Traceback" not in res.stderr


def test_the_export_has_the_translator_signatures(trained):
    import tensorflow as tf

    from keras_gans.export.savedmodel import read_json_signature

    tmp, model, _ = trained
    sigs = tf.saved_model.load(str(tmp / "sm" / "tt" / "1")).signatures
    assert {"a2b", "a2b_bytes", "serving_default", "directions"} <= set(sigs) and "b2a" not in sigs
    meta = read_json_signature(sigs, "directions")
    assert (meta["photo2style"], meta["work_size"], meta["name"]) == ("a2b", 16, "tt")
    odd = np.random.default_rng(0).integers(0, 256, (2, 20, 28, 3), dtype=np.uint8)
    out = sigs["a2b"](images=tf.constant(odd))["images"].numpy()
    assert out.shape == (2, 20, 28, 3) and out.dtype == np.uint8


def test_demo_serves_the_export(trained, photos):
    from keras_gans.demo.logic import load_model
    from keras_gans.models.capabilities import TRANSLATOR

    tmp, model, _ = trained
    demo = load_model(tmp / "sm" / "tt")
    assert demo.kind == TRANSLATOR and demo.directions == ["a2b"] and demo.channels == 3
    assert demo.direction_labels["a2b"].startswith("photo -> ")
    assert "image translator" in demo.describe()
    blob = (photos / "wide.png").read_bytes()
    [png] = demo.translate([blob], "a2b")
    got = np.asarray(Image.open(io.BytesIO(png)))
    assert got.shape == (30, 40, 3) and got.dtype == np.uint8 and 0 <= got.min() and got.max() <= 255
    want = model.transfer(np.asarray(Image.open(photos / "wide.png"))[None], "a2b")[0]
    assert np.abs(got.astype(int) - want.astype(int)).max() <= 1
    with pytest.raises(Exception, match="direction must be one of a2b"):
        demo.translate([blob], "b2a")


def test_nets_command_lists_its_nets():
    from keras_gans.cli import main

    res = CliRunner().invoke(main, ["nets", "template_translator", "--set", "data.image_size=16"])
    assert res.exit_code == 0, (res.output, res.exception)
    assert "(template_translator), images 16x16x3" in res.output and "latent" not in res.output.splitlines()[0]
    assert "generator" in res.output and "discriminator" in res.output
