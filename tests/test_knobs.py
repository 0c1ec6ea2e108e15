"""Knobs the classic studies turn: binary attributes, ignored tags, adversarial loss columns and D_G_z1/D_G_z2,
interpolate --from/--to, data.resize, MNIST IDX files, and train.schedule."""

from __future__ import annotations

import csv
import gzip
import struct

import numpy as np
import pytest
import tensorflow as tf
from click.testing import CliRunner
from PIL import Image

from tests.conftest import shared_data, tiny_config


# ----- binary attributes -------------------------------------------------------------------------------------------
def test_one_label_sigmoid_head_accuracy_follows_the_logits():
    from keras_gans.conditioning import Head
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
    from keras_gans.conditioning import cli_requests, request_arrays
    from keras_gans.errors import UserError

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
    from keras_gans.train import load_run, train

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


# ----- tags ----------------------------------------------------------------------------------------------------------
def test_ignore_tags_drops_tags_not_rows(tmp_path):
    from keras_gans.data.labels import labels_from_tags_csv
    from keras_gans.errors import UserError

    f = tmp_path / "tags.csv"
    f.write_text("0,long hair blonde hair blue eyes\n1,polychromatic hair red eyes\n2,red hair short hair blue eyes\n")
    paths = [str(tmp_path / f"{i}.png") for i in range(3)]
    vocab = {"hair": ["blonde", "red"], "eyes": ["blue", "red"]}
    with pytest.raises(UserError, match="unknown tag 'long hair'"):
        labels_from_tags_csv(f, paths, tmp_path, ["hair", "eyes"], vocab)
    lab = labels_from_tags_csv(f, paths, tmp_path, ["hair", "eyes"], vocab, ignore=["long", "short", "polychromatic hair"])
    assert lab.arrays["hair"].tolist() == [0, -1, 1] and lab.arrays["eyes"].tolist() == [0, 1, 0]
    assert lab.keep.tolist() == [True, False, True]  # row 1 is left with no hair tag: left out, with a note
    assert not any("several" in n for n in lab.notes) and any("no hair tag" in n for n in lab.notes)


# ----- loss columns --------------------------------------------------------------------------------------------------
def test_d_g_z1_and_z2_are_d_before_and_after_its_update():
    from keras_gans.models.gan import GAN

    cfg = tiny_config(train={"reuse_fake": True})  # one batch of fakes for D's and G's update, as the tutorial
    m = GAN(cfg, {"image_shape": [16, 16, 1]})
    m.compile()
    m.build_optimizers()
    real = tf.random.stateless_uniform([16, 16, 16, 1], seed=[3, 4], minval=-1, maxval=1)
    fake = m.generator(m.generator_inputs(16, 10, {"image": real}), training=True)
    before = float(tf.reduce_mean(tf.sigmoid(m.discriminator(fake, training=True))))
    logs = m.train_step({"image": real})
    after = float(tf.reduce_mean(tf.sigmoid(m.discriminator(fake, training=True))))
    assert float(logs["D_G_z1"]) == pytest.approx(before, abs=1e-5)
    assert float(logs["D_G_z2"]) == pytest.approx(after, abs=1e-5)
    assert abs(after - before) > 1e-4 and float(logs["D_G_z1"]) == pytest.approx(float(logs["d_fake"]))
    assert "d_adv_loss" not in logs  # plain BCE GAN: the total is the adversarial loss


def test_adversarial_part_logged_apart_from_weighted_total(tmp_path):
    from keras_gans.train import train

    cfg = tiny_config(model="acgan", conditional={"mode": "acgan", "adv_weight": 0.5,
                                                   "heads": [{"name": "label", "type": "softmax", "weight": 2.0}]})
    cfg["train"]["steps_per_epoch"] = 2
    train(cfg, tmp_path / "run", verbose=0)
    row = next(csv.DictReader(open(tmp_path / "run" / "history.csv")))
    for k in ("d_adv_loss", "g_adv_loss", "D_G_z1", "D_G_z2", "d_label_loss", "g_label_loss"):
        assert k in row, k
    f = {k: float(v) for k, v in row.items()}
    # G's total = 0.5 * adversarial + 2 * class loss (per-step means of each term, so the sums agree)
    assert f["g_loss"] == pytest.approx(0.5 * f["g_adv_loss"] + 2.0 * f["g_label_loss"], rel=1e-4)
    assert f["d_loss"] == pytest.approx(0.5 * f["d_adv_loss"] + 2.0 * f["d_label_loss"], rel=1e-4)
    assert f["D_G_z1"] == pytest.approx(f["d_fake"])


# ----- interpolate --from/--to ------------------------------------------------------------------------------------
def test_interpolate_from_to_with_a_fixed_condition(tmp_path):
    from keras_gans.cli import main
    from keras_gans.train import load_run, train

    cfg = tiny_config(model="acgan", conditional={"mode": "acgan", "heads": [{"name": "label", "type": "softmax"}]})
    cfg["train"]["steps_per_epoch"] = 1
    cfg["net"]["weights_init"] = 0.3  # large initial weights: the label visibly changes an untrained G's output
    run = tmp_path / "run"
    train(cfg, run, verbose=0)
    out = tmp_path / "walk.png"
    r = CliRunner().invoke(main, ["interpolate", str(run), "--from", "300005", "--to", "300012", "--steps", "5",
                                  "--label", "7", "--out", str(out)])
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


# ----- data.resize --------------------------------------------------------------------------------------------------
def _wide(tmp_path):
    """40x20: red left quarter, blue right quarter, white middle."""
    a = np.full((20, 40, 3), 255, np.uint8)
    a[:, :10] = (255, 0, 0)
    a[:, 30:] = (0, 0, 255)
    p = tmp_path / "wide.png"
    Image.fromarray(a).save(p)
    return p


def test_resize_modes(tmp_path):
    from keras_gans.data.images import load_images

    p = _wide(tmp_path)
    crop = load_images([str(p)], 16, 3, cache_dir=False).images[0].astype(int)
    squash = load_images([str(p)], 16, 3, resize="squash", cache_dir=False).images[0].astype(int)
    pad = load_images([str(p)], 16, 3, resize="pad", cache_dir=False).images[0].astype(int)
    # crop keeps the middle 20x20 of the frame: the coloured quarters are cut away (nearly all white left)
    assert (crop > 230).mean() > 0.95
    # squash keeps all: a quarter of the width on each side
    assert (squash[:, 1] == [255, 0, 0]).all() and (squash[:, 14] == [0, 0, 255]).all()
    # pad: the image is 16x8 in the middle rows, filled above and below with the border's mean colour
    assert (np.abs(pad[8, 1] - [255, 0, 0]) < 3).all() and (np.abs(pad[8, 14] - [0, 0, 255]) < 3).all()
    fill = pad[0, 8]
    assert (pad[:4] == fill).all() and (pad[-4:] == fill).all() and not (fill == [255, 255, 255]).all()
    # the cache key holds the mode: the same files decoded under another mode are not served from the cache
    cache = tmp_path / "cache"
    a = load_images([str(p)], 16, 3, cache_dir=cache, resize="pad").images[0]
    b = load_images([str(p)], 16, 3, cache_dir=cache, resize="squash").images[0]
    np.testing.assert_array_equal(a, pad)
    np.testing.assert_array_equal(b, squash)
    assert len(list(cache.glob("*.npz"))) == 2


def test_resize_mode_from_config(tmp_path):
    from keras_gans.config import load_config
    from keras_gans.errors import UserError
    from keras_gans.train import load_image_set

    _wide(tmp_path)
    cfg = load_config("dcgan", {"data.path": str(tmp_path), "data.image_size": 16, "data.resize": "squash"})
    img = load_image_set(cfg, progress=False).images[0]
    assert (img[:, 1] == [255, 0, 0]).all()
    with pytest.raises(UserError, match="data.resize"):
        load_config("dcgan", {"data.resize": "stretch"})


# ----- MNIST IDX ------------------------------------------------------------------------------------------------------
def _write_idx(path, arr, gz=True):
    head = struct.pack(">BBBB", 0, 0, 8, arr.ndim) + b"".join(struct.pack(">I", d) for d in arr.shape)
    data = head + arr.astype(np.uint8).tobytes()
    path.write_bytes(gzip.compress(data) if gz else data)


def test_idx_files_round_trip(tmp_path):
    from keras_gans.data.idx import load_idx, read_idx
    from keras_gans.errors import UserError

    rng = np.random.default_rng(0)
    x = rng.integers(0, 256, (5, 28, 28)).astype(np.uint8)
    y = np.array([3, 1, 4, 1, 5], np.uint8)
    _write_idx(tmp_path / "toy-images-idx3-ubyte.gz", x)
    _write_idx(tmp_path / "toy-labels-idx1-ubyte.gz", y)
    np.testing.assert_array_equal(read_idx(tmp_path / "toy-images-idx3-ubyte.gz"), x)
    s = load_idx(tmp_path / "toy-images-idx3-ubyte.gz", 28)
    np.testing.assert_array_equal(s.images[..., 0], x)
    assert s.labels["label"].tolist() == [3, 1, 4, 1, 5] and s.label_names["label"][-1] == "5"
    assert load_idx(tmp_path / "toy-images-idx3-ubyte.gz", 16, channels=3).images.shape == (5, 16, 16, 3)
    _write_idx(tmp_path / "raw-images-idx3-ubyte", x, gz=False)  # uncompressed, no labels beside
    assert load_idx(tmp_path / "raw-images-idx3-ubyte", 28).labels == {}
    (tmp_path / "bad-images-idx3-ubyte").write_bytes(b"\x01\x02\x03\x04")
    with pytest.raises(UserError, match="not an IDX file"):
        read_idx(tmp_path / "bad-images-idx3-ubyte")
    (tmp_path / "cut-images-idx3-ubyte").write_bytes((tmp_path / "raw-images-idx3-ubyte").read_bytes()[:500])
    with pytest.raises(UserError, match="truncated"):
        read_idx(tmp_path / "cut-images-idx3-ubyte")


def test_real_mnist_idx_as_training_data():
    from keras_gans.config import load_config
    from keras_gans.train import prepare

    f = shared_data("mnist") / "t10k-images-idx3-ubyte.gz"
    cfg = load_config("acgan_digits", {"data.path": str(f), "data.image_size": 28, "data.max_images": 200})
    _, arrays, info = prepare(cfg)
    assert arrays["image"].shape == (200, 28, 28, 1) and arrays["label"][:5].tolist() == [7, 2, 1, 0, 4]
    assert info["conditions"][0]["classes"] == [str(i) for i in range(10)]


# ----- train.schedule ------------------------------------------------------------------------------------------------
def test_schedule_values_and_validation():
    from keras_gans.config import load_config
    from keras_gans.errors import UserError
    from keras_gans.models.schedule import values_at

    sched = [{"step": 0, "d_steps": 5}, {"step": 10, "d_steps": 1, "g_steps": 2}, {"step": 20, "d_lr": 1e-5}]
    base = {"d_steps": 1, "g_steps": 1, "d_lr": 2e-4}
    assert values_at(sched, 0, base)["d_steps"] == 5 and values_at(sched, 9, base)["g_steps"] == 1
    v = values_at(sched, 25, base)
    assert (v["d_steps"], v["g_steps"], v["d_lr"]) == (1, 2, 1e-5)
    for bad, msg in (([{"d_steps": 2}], "with a step"), ([{"step": 1, "n_critic": 2}], "unknown key 'n_critic'"),
                     ([{"step": 1, "head_weights": {"hair": 1}}], "not a conditional head"),
                     ([{"step": -1}], "step must be")):
        with pytest.raises(UserError, match=msg):
            load_config("dcgan", {"train.schedule": bad})


def test_schedule_callback_sets_the_values_in_force_at_the_step_counter():
    """The cheap check (no fit): what a resumed run at step 4 gets, and the step's variables."""
    from keras_gans.models.conditional import ConditionalGAN
    from keras_gans.models.schedule import make_callback

    cfg = tiny_config(model="acgan", conditional={"mode": "acgan", "heads": [{"name": "label", "type": "softmax"}]})
    cfg["train"]["schedule"] = [{"step": 2, "d_steps": 3, "adv_weight": 0.25},
                                {"step": 4, "g_steps": 2, "d_lr": 1e-5, "head_weights": {"label": 3.0}}]
    m = ConditionalGAN(cfg, {"image_shape": [16, 16, 1], "conditions": [
        {"name": "label", "type": "softmax", "classes": [str(i) for i in range(10)]}]})
    assert m.max_d == 3 and float(m.weight("adv_weight", 1.0).numpy()) == 1.0  # step 0: the config's values
    m.step_counter.assign(4)
    cb = make_callback(m)
    cb.set_model(m)
    cb.on_train_begin()
    assert (m.d_steps, m.g_steps) == (3, 2) and cb.next is None
    assert float(m.weight("adv_weight", 1.0).numpy()) == 0.25 and float(m.weight("head:label", 1.0).numpy()) == 3.0
    assert float(m.d_optimizer.learning_rate.numpy()) == pytest.approx(1e-5)
    assert float(m.g_optimizer.learning_rate.numpy()) == pytest.approx(2e-4)
    # the weights are what the loss reads: the class term is 3x the per-example cross-entropy now
    out = {"score": tf.zeros([2, 1]), "label": tf.constant([[2.0] + [0.0] * 9] * 2)}
    extra, _ = m.extra_g_loss(out, {"label": tf.constant([0, 1])})
    ce = tf.nn.sparse_softmax_cross_entropy_with_logits(labels=[0, 1], logits=out["label"]).numpy()
    np.testing.assert_allclose(extra.numpy(), (0.25 - 1.0) * np.log(2.0) + 3.0 * ce, rtol=1e-5)


@pytest.mark.slow  # three traces of the train step: ~45 s on a busy 2-core machine
def test_schedule_changes_ratio_weight_and_lr_at_a_step(tmp_path):
    from keras_gans.models.schedule import make_callback
    from keras_gans.train import train

    cfg = tiny_config(model="acgan", conditional={"mode": "acgan", "heads": [{"name": "label", "type": "softmax"}]})
    cfg["train"]["steps_per_epoch"] = 3
    cfg["train"]["epochs"] = 2
    cfg["train"]["schedule"] = [{"step": 2, "d_steps": 2, "adv_weight": 0.25},
                                {"step": 4, "d_steps": 1, "g_steps": 2, "d_lr": 1e-5, "head_weights": {"label": 3.0}}]
    model, _, _ = train(cfg, tmp_path / "run", verbose=0)
    # steps 0-1: 1 D + 1 G; steps 2-3: 2 D + 1 G; steps 4-5: 1 D + 2 G
    assert int(model.d_optimizer.iterations.numpy()) == 2 * 1 + 2 * 2 + 2 * 1
    assert int(model.g_optimizer.iterations.numpy()) == 2 * 1 + 2 * 1 + 2 * 2
    assert float(model.weight("adv_weight", 1.0).numpy()) == 0.25
    assert float(model.weight("head:label", 1.0).numpy()) == 3.0
    assert float(model.d_optimizer.learning_rate.numpy()) == pytest.approx(1e-5)
    assert float(model.g_optimizer.learning_rate.numpy()) == pytest.approx(2e-4)
    # a resumed run starts from the values in force at its step counter
    cb = make_callback(model)
    cb.set_model(model)
    model.d_steps, model.g_steps = 1, 1
    cb.on_train_begin()
    assert (model.d_steps, model.g_steps) == (1, 2) and cb.next is None
