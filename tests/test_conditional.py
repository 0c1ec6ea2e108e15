"""ConditionalGAN: weighted head losses, projection/concat D, sampling with conditions, export round trip, smoke
trainings of the presets through the real CLI."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest
import tensorflow as tf
from PIL import Image
from click.testing import CliRunner

from tests.conftest import REPO, tiny_config

HAIR = ["aqua", "blonde", "red"]
EYES = ["blue", "green"]


def _cfg(mode="acgan", hair_w=0.3, eyes_w=0.35, **conditional):
    heads = [{"name": "hair", "type": "softmax", "classes": HAIR, "weight": hair_w},
             {"name": "eyes", "type": "softmax", "classes": EYES, "weight": eyes_w}]
    return tiny_config(model="acgan", conditional={"mode": mode, "heads": heads, **conditional})


def _model(cfg, channels=3):
    from keras_gans.training.build import build_model

    info = {"image_shape": [16, 16, channels], "n_images": 8,
            "conditions": [{"name": "hair", "type": "softmax", "classes": HAIR},
                           {"name": "eyes", "type": "softmax", "classes": EYES}]}
    return build_model(cfg, info)


def _outs():
    rng = np.random.default_rng(0)
    mk = lambda k: tf.constant(rng.normal(size=(4, k)), tf.float32)  # noqa: E731
    real = {"score": mk(1), "hair": mk(3), "eyes": mk(2)}
    fake = {"score": mk(1), "hair": mk(3), "eyes": mk(2)}
    data = {"hair": tf.constant([0, 1, 2, 1]), "eyes": tf.constant([0, 1, 1, 0])}
    return real, fake, data


def _ce(logits, y):
    return tf.nn.sparse_softmax_cross_entropy_with_logits(labels=y, logits=logits).numpy()


def test_head_losses_weighted_as_configured():
    from keras_gans.parts.losses import bce_d, bce_g

    real, fake, data = _outs()
    m1, m2 = _model(_cfg(hair_w=0.3, eyes_w=0.35)), _model(_cfg(hair_w=0.3, eyes_w=0.7))
    d1, logs = m1.extra_d_loss(real, fake, data)
    d2, _ = m2.extra_d_loss(real, fake, data)
    eyes_ce = _ce(real["eyes"], data["eyes"]) + _ce(fake["eyes"], data["eyes"])
    hair_ce = _ce(real["hair"], data["hair"]) + _ce(fake["hair"], data["hair"])
    np.testing.assert_allclose(d1.numpy(), 0.3 * hair_ce + 0.35 * eyes_ce, rtol=1e-5)
    np.testing.assert_allclose((d2 - d1).numpy(), 0.35 * eyes_ce, rtol=1e-5)  # doubling eyes' weight adds 0.35*CE
    assert set(logs) == {"d_hair_loss", "d_eyes_loss", "hair_acc_real", "hair_acc_fake", "eyes_acc_real", "eyes_acc_fake"}
    g1, _ = m1.extra_g_loss(fake, data)
    g2, _ = m2.extra_g_loss(fake, data)
    np.testing.assert_allclose((g2 - g1).numpy(), 0.35 * _ce(fake["eyes"], data["eyes"]), rtol=1e-5)
    # the adversarial weight scales the real/fake term; dropping the fake class loss removes CE(fake) from D's loss
    m3 = _model(_cfg(adv_weight=2.0, d_fake_class_loss=False))
    d3, _ = m3.extra_d_loss(real, fake, data)
    want = bce_d(real["score"], fake["score"]).numpy() + 0.3 * _ce(real["hair"], data["hair"]) + 0.35 * _ce(
        real["eyes"], data["eyes"])
    np.testing.assert_allclose(d3.numpy(), want, rtol=1e-5)
    g3, _ = m3.extra_g_loss(fake, data)
    np.testing.assert_allclose(g3.numpy(), bce_g(fake["score"]).numpy() + 0.3 * _ce(fake["hair"], data["hair"])
                               + 0.35 * _ce(fake["eyes"], data["eyes"]), rtol=1e-5)


def test_sigmoid_head_accuracy_is_top_k_recall():
    from keras_gans.parts.conditioning import Head
    from keras_gans.models.conditional import ConditionalGAN

    h = Head("labels", "sigmoid", ["a", "b", "c", "d"])
    logits = tf.constant([[5.0, 4.0, -1.0, 0.0], [5.0, -4.0, 1.0, 0.0]])
    y = tf.constant([[1.0, 1.0, 0, 0], [0, 1.0, 1.0, 0]])
    np.testing.assert_allclose(ConditionalGAN.head_accuracy(h, logits, y).numpy(), [1.0, 0.5])
    assert ConditionalGAN.head_loss(h, logits, y).shape == (2,)


@pytest.mark.parametrize("mode", ["projection", "concat"])
def test_conditioned_discriminator(mode):
    m = _model(_cfg(mode=mode))
    assert set(m.discriminator.input) == {"image", "hair", "eyes"}
    x = tf.random.stateless_normal([4, 16, 16, 3], seed=[1, 2])
    a = m.discriminate(x, {"hair": tf.constant([0, 0, 0, 0]), "eyes": tf.constant([0, 0, 0, 0])}, training=False)
    b = m.discriminate(x, {"hair": tf.constant([2, 2, 2, 2]), "eyes": tf.constant([1, 1, 1, 1])}, training=False)
    assert set(a) == {"score"} and a["score"].shape == (4, 1)
    assert np.abs(a["score"].numpy() - b["score"].numpy()).min() > 1e-6  # the label changes every score
    if mode == "projection":  # score = linear(features) + <embed(hair), f> + <embed(eyes), f>
        emb = m.discriminator.get_layer("d_hair_embed")
        w = emb.embeddings.numpy()
        emb.embeddings.assign(np.zeros_like(w))
        c = m.discriminate(x, {"hair": tf.constant([2, 2, 2, 2]), "eyes": tf.constant([0, 0, 0, 0])}, training=False)
        d = m.discriminate(x, {"hair": tf.constant([1, 1, 1, 1]), "eyes": tf.constant([0, 0, 0, 0])}, training=False)
        np.testing.assert_allclose(c["score"].numpy(), d["score"].numpy(), rtol=1e-6)


def test_grid_rows_vary_the_condition_and_columns_the_noise():
    m = _model(_cfg())
    m.grid_cell = 0  # raw cells (callbacks.grid_cell: 0)
    grid, images = m.sample_panel(9)  # 3 hair rows x 3 noise columns
    assert grid.shape == (3 * 18 + 2, 3 * 18 + 2, 3)
    imgs = images.reshape(3, 3, 16, 16, 3).astype(int)
    assert np.abs(imgs[0, 0] - imgs[1, 0]).max() > 0 and np.abs(imgs[0, 0] - imgs[0, 1]).max() > 0
    same = m.sample_from_seeds([5, 5], hair=["aqua", "red"], eyes="blue")
    assert np.abs(same[0].astype(int) - same[1].astype(int)).max() > 0
    bare = m.generate(tf.zeros([3, 16]))  # a bare z gets balanced default conditions (hair 0, 1, 2)
    np.testing.assert_allclose(bare.numpy(), m.generate({"z": tf.zeros([3, 16]), "hair": tf.constant([0, 1, 2]),
                                                         "eyes": tf.constant([0, 0, 0])}).numpy())
    imgs, labels = m.evaluation_samples(12, batch_size=5)
    assert imgs.shape == (12, 16, 16, 3) and labels["hair"].tolist()[:4] == [0, 1, 2, 0]


def test_export_round_trip_fresh_process(tmp_path):
    from keras_gans.export.savedmodel import export_model

    m = _model(_cfg(mode="projection"))
    path = export_model(m, tmp_path / "sm", "cond", 1)
    seeds = np.array([3, 4, 5], np.int64)
    want = m.sample_from_seeds(seeds, hair=[0, 1, 2], eyes=[1, 0, 1])
    z = tf.random.stateless_normal([3, 16], seed=[7, 7]).numpy()
    want_z = (np.clip(np.round((m.generate({"z": tf.constant(z), "hair": tf.constant([2, 2, 0]),
                                            "eyes": tf.constant([0, 1, 0])}).numpy() + 1) * 127.5), 0, 255)).astype(np.uint8)
    np.save(tmp_path / "z.npy", z)
    code = f"""
import json, numpy as np, tensorflow as tf
m = tf.saved_model.load({str(path)!r})
g = m.signatures["generate"](seed=tf.constant([3, 4, 5], tf.int64), hair=tf.constant([0, 1, 2]), eyes=tf.constant([1, 0, 1]))
s = m.signatures["serving_default"](z=tf.constant(np.load({str(tmp_path / 'z.npy')!r})), hair=tf.constant([2, 2, 0]), eyes=tf.constant([0, 1, 0]))
np.save({str(tmp_path / 'g.npy')!r}, g["images"].numpy()); np.save({str(tmp_path / 's.npy')!r}, s["images"].numpy())
print(json.dumps({{"png": g["image_bytes"].numpy()[0][:4].hex(), "conditions": json.loads(m.signatures["conditions"](request=tf.constant([0, 0]))["json"].numpy()[1])}}))
"""
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, timeout=300)
    assert r.returncode == 0, r.stderr[-2000:]
    out = json.loads(r.stdout.strip().splitlines()[-1])
    assert out["png"] == "89504e47"
    assert out["conditions"][0] == {"name": "hair", "type": "softmax", "classes": HAIR}
    np.testing.assert_array_equal(np.load(tmp_path / "g.npy"), want)
    np.testing.assert_array_equal(np.load(tmp_path / "s.npy"), want_z)


def _cli(*args):
    return subprocess.run([sys.executable, "cli.py", *args], capture_output=True, text=True, cwd=REPO, timeout=600)


TINY = ["--epochs", "1", "--set", "train.steps_per_epoch=2", "--set", "data.image_size=16", "--set", "net.dim=8",
        "--set", "net.latent_dim=16", "--set", "train.batch_size=16", "--set", "callbacks.tensorboard=false",
        "--set", "train.verbose=0"]


def test_train_acgan_smoke_then_sample_with_conditions(tmp_path):
    from PIL import Image

    run = tmp_path / "run"
    r = _cli("train", "acgan", "--run-dir", str(run), "--set", f"callbacks.export_dir={tmp_path / 'sm'}",
             "--set", "data.max_images=264", *TINY)
    assert r.returncode == 0, r.stderr[-3000:]
    hist = (run / "history.csv").read_text().splitlines()
    for k in ("d_hair_loss", "d_eyes_loss", "hair_acc_fake", "eyes_acc_real", "g_hair_loss"):
        assert k in hist[0]
    grid = np.asarray(Image.open(run / "samples" / "epoch_0001.png"))
    assert grid.shape[0] == 12 * 66 + 2  # one row per hair colour (16 px cells enlarged to 64)
    info = json.loads((run / "data_info.json").read_text())
    assert [c["name"] for c in info["conditions"]] == ["hair", "eyes"] and len(info["conditions"][1]["classes"]) == 11
    r = _cli("sample", str(run), "--hair", "blonde", "--eyes", "blue", "--n", "4", "--out", str(tmp_path / "a.png"))
    assert r.returncode == 0, r.stderr[-2000:]
    r = _cli("sample", str(run), "--vary", "hair", "--n", "3", "--cond", "eyes=red", "--out", str(tmp_path / "b.png"))
    assert r.returncode == 0, r.stderr[-2000:]
    assert np.asarray(Image.open(tmp_path / "b.png")).shape[:2] == (12 * 66 + 2, 3 * 66 + 2)
    export = tmp_path / "sm" / "acgan"
    r = _cli("sample", str(export), "--hair", "red", "--n", "2", "--out", str(tmp_path / "c.png"))
    assert r.returncode == 0, r.stderr[-2000:]
    r = _cli("sample", str(run), "--hair", "silver", "--out", str(tmp_path / "d.png"))
    assert r.returncode == 2 and "unknown hair 'silver'; known: aqua, black, blonde" in r.stderr
    # interpolate keeps each row's condition fixed: the latent walk alone changes along a row
    r = _cli("interpolate", str(run), "--pairs", "2", "--steps", "4", "--out", str(tmp_path / "i.png"))
    assert r.returncode == 0, r.stderr[-2000:]
    assert np.asarray(Image.open(tmp_path / "i.png")).shape[:2] == (2 * 66 + 2, 4 * 66 + 2)
    from keras_gans.training.build import load_run

    _, model, _ = load_run(run)
    inputs = model.interpolation_inputs(np.zeros((8, model.latent_dim), np.float32), 4)
    assert inputs["hair"].numpy().tolist() == [0, 0, 0, 0, 1, 1, 1, 1]


@pytest.mark.slow
def test_multilabel_wgan_gp_and_tags_folder(tmp_path):
    """acgan_multilabel (sigmoid head, WGAN-GP) on the built-in shapes; acgan on a `data make faces` folder."""
    run = tmp_path / "ml"
    r = _cli("train", "acgan_multilabel", "--run-dir", str(run), "--set", "callbacks.export_at_end=false",
             "--set", "data.max_images=120", "--set", "gan.d_steps=2", *TINY)
    assert r.returncode == 0, r.stderr[-3000:]
    head = (run / "history.csv").read_text().splitlines()[0]
    assert "labels_acc_real" in head and "gp" in head
    r = _cli("sample", str(run), "--labels", "red cube,blue sphere", "--n", "2", "--out", str(tmp_path / "m.png"))
    assert r.returncode == 0, r.stderr[-2000:]

    r = _cli("data", "make", "faces", "--out", str(tmp_path / "faces"), "--n", "40", "--size", "16")
    assert r.returncode == 0, r.stderr[-2000:]
    assert (tmp_path / "faces" / "tags.csv").read_text().splitlines()[2] == "00002,blonde hair aqua eyes"
    (tmp_path / "faces" / "tags.csv").write_text("00000,silver hair blue eyes\n")
    r = _cli("train", "acgan", "--data", str(tmp_path / "faces"), "--run-dir", str(tmp_path / "f"), *TINY)
    assert r.returncode == 2 and "unknown tag 'silver hair'" in r.stderr and "known hair tags: aqua" in r.stderr


@pytest.mark.parametrize("mode,loss", [("projection", {"type": "hinge"}), ("concat", {"type": "lsgan"}),
                                        ("acgan", {"type": "wgan", "gp_weight": 10.0})])
def test_every_mode_trains_with_other_losses(tmp_path, mode, loss):
    from keras_gans.training.driver import train

    cfg = tiny_config(model="cgan" if mode != "acgan" else "acgan", loss={"type": loss["type"]},
                      gan={k: v for k, v in loss.items() if k != "type"}, conditional={"mode": mode, "heads": [{"name": "label", "type": "softmax", "classes": 10}]})
    cfg["train"]["steps_per_epoch"] = 2
    cfg["data"]["max_images"] = 64
    model, run, hist = train(cfg, tmp_path / "run", verbose=0)
    assert np.isfinite(hist["d_loss"][-1]) and np.isfinite(hist["g_loss"][-1])
    assert ("label_acc_fake" in hist) == (mode == "acgan")
    assert (run / "samples" / "epoch_0001.png").is_file()


def test_sigmoid_head_on_builtin_shapes(tmp_path):
    from keras_gans.training.driver import train

    cfg = tiny_config(model="acgan", loss={"type": "wgan"}, gan={"gp_weight": 10.0},
                      data={"builtin": "shapes", "max_images": 64},
                      conditional={"mode": "acgan", "heads": [{"name": "labels", "type": "sigmoid"}]})
    cfg["gan"]["d_steps"] = 2
    model, run, hist = train(cfg, tmp_path / "run", verbose=0)
    assert model.heads[0].k == 24 and model.heads[0].classes[1] == "red cube"
    assert 0.0 <= hist["labels_acc_fake"][-1] <= 1.0 and hist["gp"][-1] > 0
    imgs = model.sample_from_seeds([1, 1], labels=[["red cube", "blue sphere"], ["gray cylinder"]])
    assert imgs.shape == (2, 16, 16, 3) and np.abs(imgs[0].astype(int) - imgs[1].astype(int)).max() > 0


def test_one_label_sigmoid_head_accuracy_follows_the_logits():
    from keras_gans.parts.conditioning import Head
    from keras_gans.models.conditional import ConditionalGAN

    h = Head("smiling", "sigmoid", ["smiling"])
    y = tf.constant([[1.0], [0.0], [1.0], [0.0]])
    right = tf.constant([[4.0], [-4.0], [0.5], [-0.5]])
    np.testing.assert_allclose(ConditionalGAN.head_accuracy(h, right, y).numpy(), [1, 1, 1, 1])
    np.testing.assert_allclose(ConditionalGAN.head_accuracy(h, -right, y).numpy(), [0, 0, 0, 0])  # opposite logits
    # a multi-label head: an image asked for no label is right when D calls every label absent
    h4 = Head("labels", "sigmoid", ["a", "b", "c"])
    np.testing.assert_allclose(ConditionalGAN.head_accuracy(
        h4, tf.constant([[-1.0, -2.0, -3.0], [1.0, -2.0, -3.0], [3.0, 2.0, 1.0]]),
        tf.constant([[0.0, 0, 0], [0, 0, 0], [0, 1.0, 0]])).numpy(), [1.0, 2 / 3, 0.0])


def test_binary_attribute_requests():
    from keras_gans.parts.conditioning import cli_requests, request_arrays
    from keras_gans.core.errors import UserError

    binary = [{"name": "smiling", "type": "sigmoid", "classes": ["smiling"]}]
    for value, want in (("0", 0.0), ("1", 1.0), ("false", 0.0), ("yes", 1.0), ("smiling", 1.0)):
        arr = request_arrays(binary, 3, cli_requests(binary, cond_items=[f"smiling={value}"]))
        np.testing.assert_array_equal(arr["smiling"], np.full((3, 1), want))
    table = [{"name": "attributes", "type": "sigmoid", "classes": ["male", "smiling", "young"]}]
    arr = request_arrays(table, 2, cli_requests(table, cond_items=["smiling=1", "young=1"]))
    np.testing.assert_array_equal(arr["attributes"], [[0, 1, 1], [0, 1, 1]])
    arr = request_arrays(table, 1, cli_requests(table, cond_items=["smiling=0"]))
    np.testing.assert_array_equal(arr["attributes"], [[0, 0, 0]])  # an empty set is askable
    arr = request_arrays(table, 1, cli_requests(table, labels=""))
    np.testing.assert_array_equal(arr["attributes"], [[0, 0, 0]])
    with pytest.raises(UserError, match="give 0 or 1"):
        cli_requests(table, cond_items=["smiling=maybe"])


@pytest.mark.slow  # a training and two `sample` processes: ~35 s on a busy 2-core machine
def test_sample_cond_binary_attribute_end_to_end(tmp_path, digits_dir):
    """A tiny ACGAN on an attribute table with one binary head: `sample --cond smiling=0/1` differ."""
    from keras_gans.cli import main
    from keras_gans.training.build import load_run
    from keras_gans.training.driver import train

    src = digits_dir
    files = sorted((src / "3").glob("*.png"))[:32]
    data = tmp_path / "data"
    data.mkdir()
    lines = ["image_id,Smiling"]
    for i, f in enumerate(files):
        (data / f"{i:03d}.png").write_bytes(f.read_bytes())
        lines.append(f"{i:03d}.png,{1 if i % 2 else -1}")
    (data / "attributes.csv").write_text("\n".join(lines) + "\n")
    cfg = tiny_config(model="acgan", data={"path": str(data)},
                      conditional={"mode": "acgan", "heads": [{"name": "smiling", "type": "sigmoid", "source": "attributes"}]})
    cfg["train"]["steps_per_epoch"] = 1
    run = tmp_path / "run"
    train(cfg, run, verbose=0)
    _, model, _ = load_run(run)
    assert model.condition_meta == [{"name": "smiling", "type": "sigmoid", "classes": ["smiling"]}]
    outs = []
    for v in ("0", "1"):
        out = tmp_path / f"s{v}.png"
        r = CliRunner().invoke(main, ["sample", str(run), "--n", "4", "--cond", f"smiling={v}", "--out", str(out)])
        assert r.exit_code == 0, r.output
        outs.append(np.asarray(Image.open(out), np.int32))
    assert np.abs(outs[0] - outs[1]).max() > 0
    np.testing.assert_array_equal(model.sample_from_seeds(np.arange(4), smiling="0"),
                                  model.sample_from_seeds(np.arange(4), smiling=np.zeros((4, 1), np.float32)))


def test_interpolate_from_to_with_a_fixed_condition(tmp_path):
    from keras_gans.cli import main
    from keras_gans.training.build import load_run
    from keras_gans.training.driver import train

    cfg = tiny_config(model="acgan", conditional={"mode": "acgan", "heads": [{"name": "label", "type": "softmax"}]})
    cfg["train"]["steps_per_epoch"] = 1
    cfg["net"]["weights_init"] = 0.3  # large initial weights: the label visibly changes an untrained G's output
    run = tmp_path / "run"
    train(cfg, run, verbose=0)
    out = tmp_path / "walk.png"
    r = CliRunner().invoke(main, ["interpolate", str(run), "--from", "300005", "--to", "300012", "--steps", "5",
                                  "--label", "7", "--cell", "0", "--out", str(out)])
    assert r.exit_code == 0, r.output
    grid = np.asarray(Image.open(out), np.int32)
    assert grid.shape[:2] == (18 + 2, 5 * 18 + 2)
    _, model, _ = load_run(run)
    ends = model.sample_from_seeds([300005, 300012], label=7)[..., 0].astype(np.int32)
    np.testing.assert_allclose(grid[2:18, 2:18], ends[0], atol=1)
    np.testing.assert_allclose(grid[2:18, 74:90], ends[1], atol=1)
    other = model.sample_from_seeds([300005], label=2)[0, ..., 0].astype(np.int32)
    assert np.abs(grid[2:18, 2:18] - other).mean() > 5  # the label is what was held fixed
    for args, msg in ((["--from", "1"], "--from and --to"), (["--from", "1", "--to", "2", "--pairs", "2"], "--pairs")):
        r = CliRunner().invoke(main, ["interpolate", str(run), *args])
        assert r.exit_code == 2 and msg in r.output
