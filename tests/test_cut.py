"""CUT / FastCUT: the PatchNCE loss on hand-computed numbers, the same patch positions for input and output
features, the MLP heads, the config section, a few steps through the driver on the built-in two-domain scenes, and
the export (signatures, shapes, pixel range) served by the transfer and demo code paths."""

from __future__ import annotations

import copy
import json
import math

import keras
import numpy as np
import pytest
from PIL import Image

from conftest import assert_user_error, cycle_config, run_cli, train_straight_and_resumed
from keras_gans.core.errors import UserError

TINY_LAYERS = ["in_pad", "down1", "down2", "res1_add", "res2_add"]


def cut_config(tmp_path=None, **cut) -> dict:
    """A CUT that trains in seconds: the tiny CycleGAN's data, nets and schedule (16 px built-in scenes) with two
    residual blocks, 16 patches per layer and 32-unit heads."""
    from keras_gans.config.loader import DEFAULTS, validate
    from keras_gans.models.cyclegan_config import TRANSLATOR_KEYS

    cfg = cycle_config(tmp_path)
    cfg["name"], cfg["model"], cfg["loss"]["type"] = "cut", "cut", "lsgan"
    cfg["cut"].update({k: cfg["cyclegan"][k] for k in TRANSLATOR_KEYS})
    cfg["cyclegan"] = copy.deepcopy(DEFAULTS["cyclegan"])
    cfg["cut"].update({"n_blocks": 2, "nce_layers": list(TINY_LAYERS), "num_patches": 16, "head_units": 32})
    cfg["cut"].update(cut)
    return validate(cfg)


def tiny_model(**cut):
    from keras_gans.training.driver import build_model, prepare

    cfg = cut_config(**cut)
    _, arrays, info = prepare(cfg)
    return build_model(cfg, info), arrays


# ----- the PatchNCE loss --------------------------------------------------------------------------------------------
def test_patch_nce_hand_computed():
    from keras_gans.nets.patchnce import patch_nce

    # q = k = identity, tau 1: each row's logits are [q.k_own = 1, own diagonal masked to -10, other = 0]
    eye = np.eye(2, dtype="float32")[None]
    expected = math.log(1 + math.exp(-1) + math.exp(-11))  # -log(e^1 / (e^1 + e^-10 + e^0)) = 0.31327
    assert float(patch_nce(eye, eye, 1.0)[0]) == pytest.approx(expected, rel=1e-5)
    assert expected == pytest.approx(0.31327, abs=1e-5)
    # a case where the two rows differ, tau 0.5:
    # q0.k0 = 0.8, q0.k1 = 0 -> logits [1.6, -20, 0];  q1.k1 = 0.8, q1.k0 = 0.96 -> logits [1.6, 1.92, -20]
    q = np.array([[[1.0, 0.0], [0.6, 0.8]]], "float32")
    k = np.array([[[0.8, 0.6], [0.0, 1.0]]], "float32")
    row0 = math.log(1 + math.exp(-1.6) + math.exp(-21.6))
    row1 = math.log(1 + math.exp(0.32) + math.exp(-21.6))
    assert (row0, row1) == (pytest.approx(0.18390, abs=1e-5), pytest.approx(0.86589, abs=1e-5))
    assert float(patch_nce(q, k, 0.5)[0]) == pytest.approx((row0 + row1) / 2, rel=1e-5)
    # one value per example: a batch of two gives the two examples' own losses
    both = patch_nce(np.concatenate([eye, q]), np.concatenate([eye, k]), 0.5).numpy()
    assert both.shape == (2,) and both[1] == pytest.approx((row0 + row1) / 2, rel=1e-5)


def test_identical_features_score_lower_than_shuffled():
    from keras_gans.nets.patchnce import patch_nce

    rng = np.random.default_rng(0)
    q = rng.normal(size=(3, 64, 16)).astype("float32")
    q /= np.linalg.norm(q, axis=-1, keepdims=True)
    shuffled = q[:, rng.permutation(64)]
    same, other = patch_nce(q, q, 0.07).numpy(), patch_nce(q, shuffled, 0.07).numpy()
    assert np.all(same < 0.05), same  # the own patch wins by 1/tau = 14 logits against random unit vectors
    assert np.all(other > 3.0), other  # ~log(64): the own position holds a random other patch
    # chance level: q and k unrelated gives about log(P + 1)
    k = rng.normal(size=(3, 64, 16)).astype("float32")
    k /= np.linalg.norm(k, axis=-1, keepdims=True)
    assert float(patch_nce(q, k, 1e6).numpy().mean()) == pytest.approx(math.log(64), rel=0.01)


def test_patch_nce_holds_the_keys_constant():
    import tensorflow as tf

    from keras_gans.nets.patchnce import patch_nce

    rng = np.random.default_rng(1)
    q = tf.Variable(rng.normal(size=(2, 8, 4)).astype("float32"))
    k = tf.Variable(rng.normal(size=(2, 8, 4)).astype("float32"))
    with tf.GradientTape() as tape:
        loss = tf.reduce_mean(patch_nce(tf.math.l2_normalize(q, -1), tf.math.l2_normalize(k, -1), 0.07))
    gq, gk = tape.gradient(loss, [q, k])
    assert gk is None and float(tf.norm(gq)) > 0


def test_patch_ids_are_distinct_positions():
    from keras_gans.nets.patchnce import patch_ids

    noise = np.random.default_rng(2).uniform(size=100).astype("float32")
    ids = patch_ids(100, 30, noise).numpy()
    assert len(ids) == 30 and len(set(ids)) == 30 and ids.min() >= 0 and ids.max() < 100
    assert sorted(patch_ids(9, 256, noise[:9]).numpy()) == list(range(9))  # a small map: every position once


def test_model_samples_the_same_positions_from_input_and_output_features():
    """Keys (input features) and queries (output features) are cut at the same positions of every layer: with
    features that spell out their own position, query - key is the same constant at every sampled patch."""
    import tensorflow as tf

    model, _ = tiny_model()
    shapes = [(2, 22, 22, 3), (2, 8, 8, 8), (2, 4, 4, 16), (2, 4, 4, 16), (2, 4, 4, 16)]  # the tiny G's taps
    feats_k, feats_q = [], []
    for b, h, w, c in shapes:
        pos = np.arange(h * w, dtype="float32").reshape(1, h, w, 1)
        f = np.broadcast_to(pos + 1000.0 * np.arange(b).reshape(b, 1, 1, 1), (b, h, w, c)).astype("float32")
        feats_k.append(tf.constant(f))
        feats_q.append(tf.constant(f + 0.5))
    qs, ks = model.sample_pairs(feats_q, feats_k, salt=80)
    for q, k, (b, h, w, c) in zip(qs, ks, shapes):
        q, k = q.numpy(), k.numpy()
        p = min(model.num_patches, h * w)
        assert q.shape == k.shape == (b, p, c)
        np.testing.assert_array_equal(q - k, 0.5)  # the same position in both
        positions = k[0, :, 0]
        assert len(set(positions.tolist())) == p  # distinct positions
        np.testing.assert_array_equal(k[1, :, 0] - 1000.0, positions)  # the same positions for every image
    assert len(set(ks[0][0, :, 0].numpy().tolist()) - set(range(16))) > 0  # drawn from all 484, not the first 16
    # the model's loss on identical features is the loss of identical patches (low), not of shifted ones
    rng = np.random.default_rng(7)
    feats = [tf.constant(rng.normal(size=s).astype("float32")) for s in shapes]
    same = float(tf.reduce_mean(model.nce(feats, feats, salt=80)))
    shifted = float(tf.reduce_mean(model.nce([tf.roll(f, 1, axis=2) for f in feats], feats, salt=80)))
    assert same < 0.5 * shifted, (same, shifted)


# ----- nets ---------------------------------------------------------------------------------------------------------
def test_heads_param_counts_and_unit_outputs():
    from keras_gans.nets.patchnce import build_patch_heads, head_params

    assert head_params(3, 256) == 4 * 256 + 257 * 256 == 66816  # the reference's head on the RGB input layer
    assert head_params(256, 256) == 257 * 256 * 2 == 131584
    model, _ = tiny_model()
    assert [int(x.shape[-1]) for x in model.taps.outputs] == [3, 8, 16, 16, 16]  # g_filters 4: in_pad, 2F, 4F, 4F, 4F
    # (3+1)*32 + 33*32, (8+1)*32 + 33*32, then three heads on 16 channels
    assert model.heads.count_params() == 1184 + 1344 + 3 * 1600 == 7328
    heads = build_patch_heads([3, 5], units=7)
    outs = heads([np.random.default_rng(0).normal(size=(4, 3)).astype("float32"),
                  np.random.default_rng(1).normal(size=(6, 5)).astype("float32")])
    assert [tuple(o.shape) for o in outs] == [(4, 7), (6, 7)]
    for o in outs:
        np.testing.assert_allclose(np.linalg.norm(np.asarray(o), axis=-1), 1.0, rtol=1e-5)


def test_taps_share_the_generators_weights():
    model, _ = tiny_model()
    g_vars = {id(v) for v in model.g.weights}
    assert {id(v) for v in model.taps.weights} <= g_vars and model.taps.weights
    assert not ({id(v) for v in model.heads.weights} & g_vars)
    x = np.random.default_rng(3).uniform(-1, 1, (1, 16, 16, 3)).astype("float32")
    out, *feats = model.g_and_taps(x)
    np.testing.assert_allclose(np.asarray(out), np.asarray(model.g(x)), atol=1e-6)
    np.testing.assert_allclose(np.asarray(feats[0]), np.asarray(model.taps(x)[0]), atol=1e-6)


# ----- config -------------------------------------------------------------------------------------------------------
def test_section_is_composed_and_modes_set_their_defaults():
    from keras_gans.config import loader as config, values as config_values
    from keras_gans.models import cut_config, cyclegan_config

    assert config.DEFAULTS["cut"] == cut_config.DEFAULTS and cut_config in config.FAMILY_SECTIONS
    for key in cyclegan_config.TRANSLATOR_KEYS:  # the shared keys take cyclegan's defaults and tables
        assert cut_config.DEFAULTS[key] == cyclegan_config.DEFAULTS[key], key
        assert config_values.key_spec(f"cut.{key}")["choices"] == cyclegan_config.CHOICES.get(f"cyclegan.{key}"), key
    assert cut_config.settings({"mode": "cut"}) == {"lambda_nce": 1.0, "nce_idt": True, "flip_equivariance": False}
    assert cut_config.settings({"mode": "fastcut"}) == {"lambda_nce": 10.0, "nce_idt": False, "flip_equivariance": True}
    assert cut_config.settings({"mode": "fastcut", "lambda_nce": 2.0, "nce_idt": True})["lambda_nce"] == 2.0
    cut = config.load_config("cut_ukiyoe")
    fast = config.load_config("fastcut_ukiyoe")
    assert cut["model"] == fast["model"] == "cut" and fast["cut"]["mode"] == "fastcut"
    assert {k: v for k, v in flatten_without(fast, "name", "cut.mode").items()} == flatten_without(cut, "name", "cut.mode")
    ukiyoe = config.load_config("cyclegan_ukiyoe")  # the same data recipe as the cyclegan ukiyo-e preset
    for key in ("load_size", "style_margin", "photo_domain", "upsample", "g_filters", "n_blocks"):
        assert cut["cut"][key] == ukiyoe["cyclegan"][key], key
    assert cut["data"] == ukiyoe["data"]


def flatten_without(cfg, *keys):
    from keras_gans.config.loader import flatten

    return {k: v for k, v in flatten(cfg).items() if k not in keys}


@pytest.mark.parametrize("layers,needle", [
    (["in_pad", "res3_add"], "2 residual blocks"),
    (["down7"], "allowed: image, in_pad"),
    ([], "list of G's layer names"),
    (["down1", "down1"], "twice"),
    ([1], "list of G's layer names"),
])
def test_bad_nce_layers_are_one_line(layers, needle):
    with pytest.raises(UserError, match=needle):
        cut_config(nce_layers=layers)


def test_shared_rules_name_the_cut_section():
    with pytest.raises(UserError, match="cut.load_size must be null or an integer >= data.image_size"):
        cut_config(load_size=8)
    res = run_cli("train", "cut_ukiyoe", "--set", "cut.mode=fast")
    assert_user_error(res, "cut.mode")


def test_cyclegan_keys_have_no_effect_on_a_cut_run():
    from keras_gans.config.loader import unread_keys

    cfg = cut_config()
    cfg["cyclegan"]["lambda_cycle"] = 3.0
    assert any(line.startswith("cyclegan.lambda_cycle has no effect") for line in unread_keys(cfg))
    assert not [line for line in unread_keys(cut_config()) if line.startswith("cut.")]


# ----- training through the driver ----------------------------------------------------------------------------------
class _Snapshot(keras.callbacks.Callback):
    """The nets' weights as training starts (after the driver built the model)."""

    def on_train_begin(self, logs=None):
        self.start = {k: [w.copy() for w in m.get_weights()] for k, m in self.model.sub_models().items()}


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    from keras_gans.training.driver import train

    tmp = tmp_path_factory.mktemp("cut")
    cfg = cut_config(tmp)
    cfg["callbacks"]["export_at_end"] = True
    snap = _Snapshot()
    model, run_dir, hist = train(copy.deepcopy(cfg), tmp / "run", extra_callbacks=[snap])
    return tmp, model, run_dir, snap.start


def test_few_steps_train_every_net(trained):
    from keras_gans.training.callbacks import read_csv

    tmp, model, run_dir, before = trained
    rows = read_csv(run_dir / "history.csv")
    assert len(rows) == 2
    for k in ("g_loss", "d_loss", "adv_loss", "nce_loss", "nce_idt_loss", "d_real", "d_fake", "g_grad_norm", "lr"):
        assert np.isfinite(float(rows[-1][k])), k
    # the heads and G learn to tell the patches apart: the PatchNCE loss falls from the first epoch to the second
    assert 0.0 < float(rows[1]["nce_loss"]) < float(rows[0]["nce_loss"])
    assert float(rows[0]["lr"]) == pytest.approx(2e-4) and float(model.g_optimizer.learning_rate) == 0.0
    assert set(before) == {"g", "d", "heads"}
    for name, net in model.sub_models().items():
        changed = [not np.array_equal(a, b) for a, b in zip(before[name], net.get_weights())]
        assert sum(changed) > len(changed) // 2, name  # G, D and the heads all learn
    grid = np.asarray(Image.open(run_dir / "samples" / "epoch_0002.png"))
    assert grid.shape == (2 * 66 + 2, 4 * 66 + 2, 3)  # 2 rows: photo, photo -> style, style, G(style); 16 px x4
    info = json.loads((run_dir / "data_info.json").read_text())
    assert info["steps_per_epoch"] == 2 and len(info["samples"]["a"]) == 2


def test_fastcut_trains_without_the_identity_term(tmp_path):
    from keras_gans.training.callbacks import read_csv
    from keras_gans.training.driver import train

    cfg = cut_config(tmp_path, mode="fastcut", photo_domain="B")
    cfg["train"]["epochs"] = 1
    model, run_dir, _ = train(cfg, tmp_path / "run")
    row = read_csv(run_dir / "history.csv")[-1]
    assert "nce_idt_loss" not in row and np.isfinite(float(row["nce_loss"]))
    assert model.lambda_nce == 10.0 and model.flip_equivariance and not model.nce_idt
    assert model.direction == "b2a" and model.source_key == "b"


def test_flip_equivariance_compares_output_features_flipped_back():
    """FastCUT's flip: in a flipping step G translates the mirrored input, and its output's features are mirrored
    back before they meet the features of the input itself; in other steps nothing is mirrored."""
    import tensorflow as tf

    model, arrays = tiny_model(mode="fastcut")
    x = tf.constant(arrays["a"][:2].astype("float32") / 127.5 - 1.0)
    flips = []
    for step in range(8):
        model.step_counter.assign(step)
        flips.append(bool(model.uniform([1], 71)[0] < 0.5))
    assert True in flips and False in flips  # a coin per step, from the step's noise

    def by_hand(flip_input: bool, flip_back: bool):
        xin = tf.reverse(x, [2]) if flip_input else x
        q = model.taps(model.g(xin))
        q = [tf.reverse(f, [2]) for f in q] if flip_back else q
        return float(tf.reduce_mean(model.nce(q, model.taps(x), salt=80)))

    model.step_counter.assign(flips.index(True))
    got = float(tf.reduce_mean(model.generator_losses(x, x)["nce_loss"]))
    assert got == pytest.approx(by_hand(True, True), rel=1e-4)
    assert abs(got - by_hand(True, False)) > 1e-3  # the flip-back matters
    model.step_counter.assign(flips.index(False))
    assert float(tf.reduce_mean(model.generator_losses(x, x)["nce_loss"])) == pytest.approx(by_hand(False, False), rel=1e-4)


# ----- export and serving -------------------------------------------------------------------------------------------
def test_export_round_trip_shapes_and_pixels(trained):
    import tensorflow as tf

    from keras_gans.export.savedmodel import export_model, read_json_signature, rest_problems

    tmp, model, run_dir, _ = trained
    path = export_model(model, tmp / "exp", "cut", 1)
    sigs = tf.saved_model.load(str(path)).signatures
    assert set(sigs) == {"serving_default", "a2b", "a2b_bytes", "directions"}  # as cyclegan's to_style export
    assert rest_problems(sigs) == []
    meta = read_json_signature(sigs, "directions")
    assert meta["photo2style"] == "a2b" and meta["photo_domain"] == "A" and meta["work_size"] == 16
    odd = np.random.default_rng(0).integers(0, 256, (2, 23, 41, 3), dtype=np.uint8)
    out = sigs["a2b"](images=tf.constant(odd))["images"].numpy()
    assert out.shape == odd.shape and out.dtype == np.uint8
    assert out.std() > 1.0  # an image, not a constant
    np.testing.assert_allclose(out.astype(int), model.transfer(odd).astype(int), atol=1)
    png = sigs["serving_default"](image_bytes=tf.stack([tf.io.encode_png(odd[0]), tf.io.encode_jpeg(odd[1, :16, :16])]))
    shapes = [tuple(tf.io.decode_png(b).shape) for b in png["image_bytes"].numpy()]
    assert shapes == [(23, 41, 3), (16, 16, 3)]


def test_only_the_photo_to_style_direction_exists(trained):
    _, model, _, _ = trained
    assert model.generator_for("a2b") is model.g
    with pytest.raises(UserError, match="translates a2b only"):
        model.generator_for("b2a")
    with pytest.raises(UserError, match="translates a2b only"):
        model.transfer(model.sample_src, "b2a")


def test_demo_serves_the_export(trained):
    import tensorflow as tf

    from keras_gans.demo.logic import model_from_signatures
    from keras_gans.export.savedmodel import export_model

    tmp, model, _, _ = trained
    path = export_model(model, tmp / "demo", "cut", 1)
    demo = model_from_signatures(tf.saved_model.load(str(path)).signatures, "cut")
    assert demo.directions == ["a2b"]
    img = np.random.default_rng(4).integers(0, 256, (20, 28, 3), dtype=np.uint8)
    out = demo.translate([tf.io.encode_png(img).numpy()], "a2b")
    got = np.asarray(Image.open(__import__("io").BytesIO(out[0])))
    assert got.shape == (20, 28, 3)
    assert np.abs(got.astype(int) - model.transfer(img[None])[0].astype(int)).max() <= 1


def _transfer_one_photo(tmp_path, seed, shape, *args):
    """(photo, what `transfer ARGS --input p.png` wrote for it): a random photo of `shape` through the command."""
    img = np.random.default_rng(seed).integers(0, 256, (*shape, 3), dtype=np.uint8)
    Image.fromarray(img).save(tmp_path / "p.png")
    res = run_cli("transfer", *args, "--input", tmp_path / "p.png", "--output", tmp_path / "out")
    assert res.exit_code == 0, (res.output, res.exception)
    return img, np.asarray(Image.open(tmp_path / "out" / "p.png"))


def test_transfer_command_serves_the_export(trained, tmp_path):
    """The export's signatures are the ones `transfer` reads: given with --model, the command translates with it."""
    tmp, model, run_dir, _ = trained
    img, got = _transfer_one_photo(tmp_path, 5, (30, 18), "cyclegan", "--model", run_dir / "export")
    assert got.shape == (30, 18, 3)
    assert np.abs(got.astype(int) - model.transfer(img[None])[0].astype(int)).max() <= 1


def test_transfer_command_on_a_cut_run(trained, tmp_path):
    tmp, model, run_dir, _ = trained
    img, got = _transfer_one_photo(tmp_path, 6, (24, 20), "cut_ukiyoe", "--run", run_dir)
    np.testing.assert_array_equal(got, model.transfer(img[None])[0])


@pytest.mark.slow
def test_resume_is_exact_including_the_heads(tmp_path):
    """2 epochs in one go == 1 epoch + --resume 1 epoch: G, D, the MLP heads, optimizers and the LR schedule."""
    cfg = cut_config(tmp_path, mode="fastcut")  # the flip's coin comes from the restored step counter too
    cfg["train"]["deterministic"] = True
    full, resumed = train_straight_and_resumed(cfg, tmp_path)
    assert len(full.weights) == len(resumed.weights) and any("head" in w.path for w in full.weights)
    for a, b in zip(full.weights, resumed.weights):
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b), err_msg=a.path)
