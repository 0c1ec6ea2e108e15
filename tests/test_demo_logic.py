"""The demo's request -> arrays logic (keras_gans/demo/logic.py) without Gradio or a browser: finding the export of
a run, condition controls -> label arrays, grids and their seeds, interpolation, GIF, photo translation; fake
models where TensorFlow is not the point, one real tiny export for the signatures."""

from __future__ import annotations

import io
import json
import sys

import numpy as np
import pytest
from PIL import Image

from keras_gans.demo import logic
from keras_gans.core.errors import UserError

HEADS = [{"name": "hair", "type": "softmax", "classes": ["aqua", "blonde", "red"]},
         {"name": "eyes", "type": "softmax", "classes": ["blue", "green"]},
         {"name": "objects", "type": "sigmoid", "classes": ["red cube", "blue sphere", "gray cylinder"]},
         {"name": "smiling", "type": "sigmoid", "classes": ["smiling"]}]


def _export(path):
    path.mkdir(parents=True)
    (path / "saved_model.pb").write_bytes(b"")
    return path


# ----- finding the export ------------------------------------------------------------------------------------------
def test_resolve_export_folder_base_and_run(tmp_path):
    v = _export(tmp_path / "sm" / "acgan" / "2")
    _export(tmp_path / "sm" / "acgan" / "10")
    (tmp_path / "sm" / "acgan" / "11").mkdir()  # a version folder without saved_model.pb (half-written) is skipped
    assert logic.resolve_export(v) == v
    assert logic.resolve_export(tmp_path / "sm" / "acgan") == tmp_path / "sm" / "acgan" / "10"

    run = tmp_path / "run"
    _export(run / "export" / "1")
    _export(run / "export" / "3")
    assert logic.resolve_export(run) == run / "export" / "3"  # highest RUN/export/N
    (run / "export.json").write_text(json.dumps({"path": str(v.resolve())}))
    assert logic.resolve_export(run) == v.resolve()  # RUN/export.json wins
    (run / "export.json").write_text(json.dumps({"path": "export/1"}))  # relative to the run
    assert logic.resolve_export(run) == run / "export" / "1"

    old = tmp_path / "old_run"  # today's layout: config's export_dir/NAME, no RUN/export/
    old.mkdir()
    (old / "config.yaml").write_text(f"name: acgan\ncallbacks:\n  export_dir: {tmp_path / 'sm'}\n")
    assert logic.resolve_export(old) == tmp_path / "sm" / "acgan" / "10"


@pytest.mark.parametrize("setup,message", [
    (lambda p: p, "does not exist"),
    (lambda p: (p.parent.mkdir(exist_ok=True), p.write_text("x"), p)[-1], "is a file"),
    (lambda p: (p.mkdir(), p)[-1], "neither a SavedModel export"),
    (lambda p: (p.mkdir(), (p / "config.yaml").write_text("name: x\ncallbacks: {export_dir: nowhere}\n"), p)[-1],
     "python cli.py export"),
])
def test_resolve_export_says_what_is_missing(tmp_path, setup, message):
    with pytest.raises(UserError, match=message):
        logic.resolve_export(setup(tmp_path / "x"))


# ----- requests -> arrays ------------------------------------------------------------------------------------------
def test_controls_and_condition_request():
    assert [logic.control_for(m) for m in HEADS] == ["dropdown", "dropdown", "checkboxes", "checkbox"]
    assert [logic.default_choice(m) for m in HEADS] == ["mixed", "mixed", ["red cube"], True]
    req = logic.condition_request(HEADS, ["red", "mixed", ["red cube", "gray cylinder"], False])
    assert set(req) == {"hair", "objects", "smiling"}  # mixed eyes: left to the balanced default
    assert req["hair"] == "red"
    assert req["objects"].tolist() == [1, 0, 1] and req["smiling"].tolist() == [0]
    assert logic.condition_request(HEADS, {"objects": [], "smiling": True})["objects"].tolist() == [0, 0, 0]
    with pytest.raises(UserError, match="unknown objects 'green cone'; known: red cube"):
        logic.condition_request(HEADS, ["red", "blue", ["green cone"], True])
    with pytest.raises(UserError, match="expected 4 condition values"):
        logic.condition_request(HEADS, ["red"])


def test_grid_inputs_seeds_conditions_and_vary():
    seeds, arrays, nrow, rows = logic.grid_inputs(HEADS, 5, 6, ["blonde", "mixed", ["blue sphere"], True])
    assert seeds.tolist() == [500000 + i for i in range(6)]  # the `sample --seed 5` rule
    assert nrow is None and rows == []
    assert arrays["hair"].tolist() == [1] * 6
    assert arrays["eyes"].tolist() == [0, 0, 0, 1, 1, 1]  # mixed: balanced as `sample` does it
    assert arrays["objects"].shape == (6, 3) and arrays["objects"][:, 1].tolist() == [1] * 6
    assert arrays["hair"].dtype == np.int32 and arrays["objects"].dtype == np.float32

    seeds, arrays, nrow, rows = logic.grid_inputs(HEADS, 0, 4, ["red", "green", [], False], vary="hair")
    assert nrow == 4 and rows == ["aqua", "blonde", "red"]
    assert seeds.tolist() == [0, 1, 2, 3] * 3  # same seeds in every row
    assert arrays["hair"].tolist() == [0] * 4 + [1] * 4 + [2] * 4 and arrays["eyes"].tolist() == [1] * 12
    _, arrays, _, rows = logic.grid_inputs(HEADS, 0, 2, ["red", "green", [], False], vary="objects")
    assert rows == ["red cube", "blue sphere", "gray cylinder"]
    assert arrays["objects"].tolist() == [[1, 0, 0]] * 2 + [[0, 1, 0]] * 2 + [[0, 0, 1]] * 2

    with pytest.raises(UserError, match="no condition 'glasses'"):
        logic.grid_inputs(HEADS, 0, 2, ["red", "green", [], False], vary="glasses")
    with pytest.raises(UserError, match="grid size must be a whole number from 1 to 256"):
        logic.grid_inputs([], 0, 257)
    with pytest.raises(UserError, match="at most 256"):
        ten = [{"name": "c", "type": "softmax", "classes": [str(i) for i in range(10)]}]
        logic.grid_inputs(ten, 0, 30, ["mixed"], "c")


@pytest.mark.parametrize("value,ok", [(3, 3), ("12", 12), (7.0, 7), ("x", None), (-1, None), (1.5, None),
                                      (float("nan"), None), (2**41, None)])
def test_parse_seed(value, ok):
    if ok is None:
        with pytest.raises(UserError, match="seed must be a whole number"):
            logic.parse_seed(value)
    else:
        assert logic.parse_seed(value) == ok


# ----- fake models: the page's calls and what it does with the answers --------------------------------------------
def fake_generator(metas=()):
    """Image of seed s, hair h: a 4x6 gray image filled with (s % 97) + 100*h (so tiles can be read back)."""
    def generate(seeds, conds):
        hair = conds.get("hair", np.zeros(len(seeds), np.int32))
        v = (np.asarray(seeds) % 97 + 100 * np.asarray(hair)).astype(np.uint8)
        return np.broadcast_to(v[:, None, None, None], (len(seeds), 4, 6, 1)).copy()

    def latents(seeds):
        return np.stack([np.full(3, float(s), np.float32) for s in seeds])

    def decode(z, conds):
        hair = conds.get("hair", np.zeros(len(z), np.int32))
        v = (z[:, 0] / 1000.0 + 100 * hair).astype(np.uint8)
        return np.broadcast_to(v[:, None, None, None], (len(z), 4, 6, 1)).copy()

    return logic.DemoModel("conditional" if metas else "latent", "fake", list(metas), generate, decode, latents,
                           channels=1, latent_dim=3)


def test_generate_grid_tiles_and_caption():
    m = fake_generator(HEADS)
    grid, images, caption = logic.generate_grid(m, 2, 3, ["red", "mixed", ["red cube"], True], "hair")
    assert images.shape == (9, 4, 6, 1) and grid.shape == (3 * 6 + 2, 3 * 8 + 2, 1)
    assert grid[2, 2, 0] == 200000 % 97 and grid[2 + 6, 2, 0] == 200000 % 97 + 100  # row 2 = blonde
    assert grid[2, 2 + 2 * 8, 0] == 200002 % 97
    assert caption == "9 images, latent seeds 200000..200002; rows top to bottom: hair = aqua, blonde, red"
    g, _, caption = logic.generate_grid(fake_generator(), "1", 4)
    assert g.shape == (2 * 6 + 2, 2 * 8 + 2, 1) and caption == "4 images, latent seeds 100000..100003"
    assert logic.display(g).shape == g.shape[:2]


def test_interpolation_runs_from_seed_a_to_seed_b_with_conditions_fixed():
    m = fake_generator(HEADS)
    frames = logic.interpolation_frames(m, 0, 1, 5, "linear", ["mixed", "mixed", [], False])
    assert frames.shape == (5, 4, 6, 1)
    # z(seed 1's first image) = 100000 -> /1000 = 100; mixed hair -> class 0 on every frame
    assert frames[:, 0, 0, 0].tolist() == [0, 25, 50, 75, 100]
    frames = logic.interpolation_frames(m, 0, 1, 3, "linear", ["blonde", "mixed", [], False])
    assert frames[:, 0, 0, 0].tolist() == [100, 150, 200]
    with pytest.raises(UserError, match="steps must be a whole number from 2 to 64"):
        logic.interpolation_frames(m, 0, 1, 1)
    with pytest.raises(UserError, match="method must be linear or slerp"):
        logic.interpolation_frames(m, 0, 1, 4, "cubic")


def test_gif_walks_forth_and_back_enlarged():
    frames = np.stack([np.full((16, 20, 3), 40 * i, np.uint8) for i in range(5)])
    gif = Image.open(io.BytesIO(logic.gif_bytes(frames)))
    assert gif.format == "GIF" and gif.n_frames == 8 and gif.size == (160, 128)
    seen = []
    for i in range(gif.n_frames):
        gif.seek(i)
        seen.append(int(np.asarray(gif.convert("L"))[0, 0]))
    assert seen == [0, 40, 80, 120, 160, 120, 80, 40]


def test_translate_image_sends_png_and_keeps_size():
    calls = []

    def translate(blobs, direction):
        calls.append(direction)
        img = np.asarray(Image.open(io.BytesIO(blobs[0])))
        buf = io.BytesIO()
        Image.fromarray(255 - img).save(buf, format="PNG")
        return [buf.getvalue()]

    m = logic.DemoModel("translator", "fake", translate=translate, directions=["a2b", "b2a"])
    rgba = np.random.default_rng(0).integers(0, 256, (31, 47, 4)).astype(np.uint8)
    out = logic.translate_image(m, rgba, "b2a")
    assert out.shape == (31, 47, 3) and calls == ["b2a"]
    np.testing.assert_array_equal(out, 255 - rgba[..., :3])
    assert logic.translate_image(m, rgba[..., 0], "a2b").shape == (31, 47, 1)
    with pytest.raises(UserError, match="upload a photo"):
        logic.translate_image(m, None)
    with pytest.raises(UserError, match="no generate signature"):
        logic.generate_grid(m, 0, 4)


# ----- a real export ------------------------------------------------------------------------------------------------
def test_real_export_through_its_signatures(tmp_path):
    """A tiny latent export: the demo reads its signatures, and z from seeds through `serving_default` gives the
    same pixels as `generate` (so the interpolation strip starts where the grid does); a run finds it by export.json."""
    from conftest import tiny_config

    from keras_gans.export.savedmodel import export_model
    from keras_gans.training.build import build_model

    model = build_model(tiny_config(), {"image_shape": [16, 16, 1], "n_images": 8})
    path = export_model(model, tmp_path / "sm", "digits", 1)
    run = tmp_path / "run"
    run.mkdir()
    (run / "export.json").write_text(json.dumps({"path": str(path)}))
    m = logic.load_model(run)
    assert (m.kind, m.name, m.latent_dim, m.channels, m.metas) == ("latent", "digits/1", 16, 1, [])
    assert m.signatures == ["generate", "serving_default"]
    seeds = logic.grid_seeds(4, 3)
    images = m.generate(seeds, {})
    assert images.shape == (3, 16, 16, 1) and images.dtype == np.uint8
    np.testing.assert_array_equal(m.decode(m.latents(seeds), {}), images)
    np.testing.assert_array_equal(images, model.sample_from_seeds(seeds))  # same pixels as the Keras model


def test_cli_demo_without_gradio_names_the_install_command(monkeypatch):
    from click.testing import CliRunner

    from keras_gans.cli import main

    monkeypatch.setitem(sys.modules, "gradio", None)  # import gradio -> ImportError
    r = CliRunner().invoke(main, ["demo", "."])
    assert r.exit_code == 2
    assert r.output.strip().splitlines()[-1] == 'error: the demo needs Gradio: pip install -e ".[demo]"'


class _Sig:
    """A stand-in for a loaded SavedModel signature: its named inputs and nothing to run."""

    def __init__(self, *names):
        self.structured_input_signature = ((), {n: None for n in names})


@pytest.mark.parametrize("sigs,message", [
    ({"generate": _Sig("seed", "hair"), "serving_default": _Sig("z", "hair")}, "no 'conditions' signature"),
    ({"encode": _Sig("images")}, "no 'generate' signature"),
    ({"a2b": _Sig("images")}, "needs the a2b_bytes or b2a_bytes signature"),
])
def test_exports_the_page_cannot_serve_say_why(sigs, message):
    with pytest.raises(UserError, match=message):
        logic.model_from_signatures(sigs, "m/1")
