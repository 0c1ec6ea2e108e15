"""CycleGAN: instance norm, PatchGAN receptive field, the image pool, loss weights, LR decay, data layout, a tiny
training run with export, and `transfer` on a folder with corrupt files."""

from __future__ import annotations

import copy
import json

import numpy as np
import pytest
from click.testing import CliRunner
from PIL import Image

from conftest import cycle_config, shared_data, train_straight_and_resumed


def tiny_model(**cyc):
    from keras_gans.training.build import build_model
    from keras_gans.training.driver import prepare

    cfg = cycle_config(**cyc)
    _, arrays, info = prepare(cfg)
    return build_model(cfg, info), arrays


# ----- nets ---------------------------------------------------------------------------------------------------------
def test_instance_norm_normalises_each_sample_and_channel():
    from keras_gans.nets.blocks import norm_layer
    from keras_gans.nets.resnet import build_resnet_generator

    rng = np.random.default_rng(0)
    mean = rng.uniform(-5, 5, (3, 1, 1, 4))
    std = rng.uniform(0.5, 4, (3, 1, 1, 4))
    x = (rng.normal(size=(3, 12, 12, 4)) * std + mean).astype("float32")
    y = np.asarray(norm_layer("instance")(x))
    np.testing.assert_allclose(y.mean(axis=(1, 2)), 0.0, atol=1e-4)
    np.testing.assert_allclose(y.std(axis=(1, 2)), 1.0, atol=1e-2)
    # not layer norm (groups=1): that would leave per-channel means apart
    g = build_resnet_generator((16, 16, 3), filters=4, n_blocks=2)
    norms = [lay for lay in g.layers if "GroupNormalization" in type(lay).__name__]
    assert norms and all(lay.groups == lay.input.shape[-1] for lay in norms)


def test_resnet_generator_blocks_and_any_size():
    from keras_gans.nets.resnet import build_resnet_generator

    for blocks in (6, 9):
        g = build_resnet_generator((32, 32, 3), filters=4, n_blocks=blocks)
        assert sum(lay.name.endswith("_add") for lay in g.layers) == blocks
    y = np.asarray(g(np.zeros((1, 20, 36, 3), "float32")))
    assert y.shape == (1, 20, 36, 3) and np.all(np.abs(y) <= 1.0)


def test_patchgan_sees_70x70_patches():
    import tensorflow as tf

    from keras_gans.nets.patchgan import build_patchgan, receptive_field

    assert receptive_field(3) == 70
    d = build_patchgan((96, 96, 1), filters=2, n_layers=3, norm="none")
    assert d.output_shape == (None, 10, 10, 1)
    assert build_patchgan((256, 256, 3), filters=2).output_shape == (None, 30, 30, 1)  # as the reference code
    x = tf.Variable(np.random.default_rng(0).normal(size=(1, 96, 96, 1)).astype("float32"))
    with tf.GradientTape() as tape:
        s = d(x)[0, 5, 5, 0]
    grad = np.abs(tape.gradient(s, x).numpy()[0, :, :, 0])
    rows, cols = np.nonzero(grad.sum(1))[0], np.nonzero(grad.sum(0))[0]
    assert rows.max() - rows.min() + 1 == 70 and cols.max() - cols.min() + 1 == 70


# ----- pool, losses, schedule ---------------------------------------------------------------------------------------
def test_pool_returns_past_images_with_probability_half_once_full():
    import tensorflow as tf

    from keras_gans.models.cyclegan import pool_query

    size = 10
    pool = tf.Variable(tf.zeros([size, 1, 1, 1]))
    count = tf.Variable(0, dtype=tf.int64)
    rng = np.random.default_rng(1)
    first = np.arange(1, 11, dtype="float32").reshape(10, 1, 1, 1)
    out = pool_query(pool, count, first, rng.random(10).astype("float32"), rng.random(10).astype("float32"))
    np.testing.assert_array_equal(out.numpy(), first)  # filling: every image passes through and is stored
    assert int(count.numpy()) == size and sorted(pool.numpy().ravel()) == list(range(1, 11))

    n = 1000
    new = np.arange(100, 100 + n, dtype="float32").reshape(n, 1, 1, 1)
    out = pool_query(pool, count, new, rng.random(n).astype("float32"), rng.random(n).astype("float32")).numpy().ravel()
    past = out != new.ravel()
    assert 0.45 < past.mean() < 0.55, past.mean()
    seen = set(range(1, 11)) | set(range(100, 100 + n))
    for i in np.nonzero(past)[0][:200]:  # a returned past image was stored earlier, never a future one
        assert out[i] in seen and out[i] < 100 + i
    assert int(count.numpy()) == size


def test_model_pool_is_deterministic_state():
    m1, _ = tiny_model(pool_size=2)
    m2, _ = tiny_model(pool_size=2)
    x = np.random.default_rng(0).uniform(-1, 1, (2, 16, 16, 3)).astype("float32")
    for step in range(4):
        m1.step_counter.assign(step)
        m2.step_counter.assign(step)
        np.testing.assert_array_equal(m1.pooled(x + step, "a", 101).numpy(), m2.pooled(x + step, "a", 101).numpy())
    assert int(m1.pool_a_count.numpy()) == 2
    names = {w.path if hasattr(w, "path") else w.name for w in m1.weights}
    assert any("pool_a" in n for n in names) and any("pool_b_count" in n for n in names)  # checkpointed weights


@pytest.mark.parametrize("lam,lid", [(10.0, 0.5), (3.0, 0.0)])
def test_cycle_and_identity_losses_weighted_as_configured(lam, lid):
    m, arrays = tiny_model(lambda_cycle=lam, lambda_identity=lid)
    a = arrays["a"][:2].astype("float32") / 127.5 - 1
    b = arrays["b"][:2].astype("float32") / 127.5 - 1
    out = {k: np.asarray(v) for k, v in m.generator_losses(a, b, training=False).items()}
    cyc_a = np.abs(np.asarray(m.g_ba(m.g_ab(a))) - a).mean(axis=(1, 2, 3))
    np.testing.assert_allclose(out["cycle_a_loss"], cyc_a, rtol=1e-5)
    expect = out["adv_a2b_loss"] + out["adv_b2a_loss"] + lam * (out["cycle_a_loss"] + out["cycle_b_loss"])
    if lid:
        idt_b = np.abs(np.asarray(m.g_ab(b)) - b).mean(axis=(1, 2, 3))
        np.testing.assert_allclose(out["idt_b_loss"], idt_b, rtol=1e-5)
        expect = expect + lam * lid * (out["idt_a_loss"] + out["idt_b_loss"])
    else:
        assert "idt_a_loss" not in out and "idt_a_loss" not in m.trackers
    np.testing.assert_allclose(out["g_total"], expect, rtol=1e-5)
    assert np.all(out["cycle_a_loss"] > 0)


def test_lr_constant_then_linear_to_zero_at_last_epoch():
    from keras_gans.models.cyclegan import lr_schedule

    cfg = cycle_config()
    cfg["train"]["epochs"] = 4  # decay_epochs null -> the last 2 epochs
    s = lr_schedule(cfg, 2e-4, steps_per_epoch=10)
    lr = np.array([float(s(t)) for t in range(0, 46)])
    np.testing.assert_allclose(lr[:21], 2e-4)
    np.testing.assert_allclose(lr[30], 1e-4, rtol=1e-6)
    assert np.all(np.diff(lr[20:41]) < 0)
    assert lr[39] > 0 and lr[40] == 0.0 and np.all(lr[40:] == 0.0)
    cfg["cyclegan"]["decay_epochs"] = 0
    assert float(lr_schedule(cfg, 2e-4, 10)(40)) == pytest.approx(2e-4)


# ----- data ---------------------------------------------------------------------------------------------------------
def _write(path, size, colour, fmt="PNG"):
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", size, colour).save(path, format=fmt)


def test_cyclegan_layout_and_clear_errors(tmp_path):
    from keras_gans.core.errors import UserError
    from keras_gans.data.source import load_domains
    from keras_gans.models import family_class

    root = tmp_path / "set"
    for i in range(3):
        _write(root / "trainA" / f"{i}.png", (20, 24), (200, 10, 10))
    for i in range(5):
        _write(root / "trainB" / f"{i}.jpg", (30, 20), (10, 10, 200), "JPEG")
    _write(root / "testB" / "t.png", (16, 16), (0, 255, 0))
    cfg = cycle_config()
    cfg["data"]["path"] = str(root)
    d = load_domains(cfg, progress=False, options=family_class(cfg["model"]).data_options(cfg))
    assert d.a.shape == (3, 16, 16, 3) and d.b.shape == (5, 16, 16, 3)
    assert d.test_b.shape == (1, 16, 16, 3) and d.test_b[0, 8, 8, 1] == 255  # testB used for the grid
    assert len(d.test_a) == 2 and d.a[0, 8, 8, 0] > 150  # no testA: the last train images
    (root / "trainB" / "0.jpg").unlink()
    for p in (root / "trainB").iterdir():
        p.unlink()
    (root / "trainB").rmdir()
    with pytest.raises(UserError, match="trainB"):
        load_domains(cfg, progress=False, options=family_class(cfg["model"]).data_options(cfg))


def test_builtin_scenes_are_two_distinct_domains():
    from keras_gans.data.domains import make_domain

    a, b = make_domain("a", 8, 32), make_domain("b", 8, 32)
    assert a.shape == b.shape == (8, 32, 32, 3)
    np.testing.assert_array_equal(a, make_domain("a", 8, 32))  # deterministic

    def colours(x):  # prints are posterised: far fewer distinct colours (after grain) than the photos' gradients
        q = (x.astype(int) // 32).reshape(len(x), -1, 3)
        return np.mean([len({tuple(c) for c in im}) for im in q])

    assert colours(b) < colours(a)
    assert (b.reshape(-1, 3).sum(1) < 150).mean() > 0.03  # dark ink outlines


def test_monet2photo_loads_in_layout():
    root = shared_data("monet2photo")
    from keras_gans.data.source import load_domains
    from keras_gans.models import family_class

    cfg = cycle_config()
    cfg["data"].update({"path": str(root), "max_images": 6})
    d = load_domains(cfg, progress=False, options=family_class(cfg["model"]).data_options(cfg))
    assert d.a.shape == d.b.shape == (6, 16, 16, 3) and d.test_a.shape == (2, 16, 16, 3)


# ----- training, export, transfer -----------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    from keras_gans.training.driver import train

    tmp = tmp_path_factory.mktemp("cyc")
    cfg = cycle_config(tmp)
    cfg["callbacks"]["export_at_end"] = True
    model, run_dir, hist = train(copy.deepcopy(cfg), tmp / "run")
    return tmp, model, run_dir, hist


def test_tiny_training_run(trained):
    from keras_gans.training.callbacks import read_csv

    tmp, model, run_dir, hist = trained
    rows = read_csv(run_dir / "history.csv")
    assert len(rows) == 2
    for k in ("g_loss", "d_loss", "cycle_a_loss", "cycle_b_loss", "idt_a_loss", "adv_a2b_loss", "d_a_loss", "lr"):
        assert np.isfinite(float(rows[-1][k])), k
    assert float(model.g_optimizer.learning_rate) == 0.0  # 2 epochs x 2 steps: decayed to 0 at the end
    assert float(rows[0]["lr"]) == pytest.approx(2e-4)
    assert int(model.pool_a_count.numpy()) == 3  # 4 steps x 2 fakes filled the pool of 3
    grid = np.asarray(Image.open(run_dir / "samples" / "epoch_0002.png"))
    assert grid.shape == (2 * 66 + 2, 6 * 66 + 2, 3)  # 2 rows: A, A->B, A->B->A, B, B->A, B->A->B (16 px cells x4)
    info = json.loads((run_dir / "data_info.json").read_text())
    assert info["steps_per_epoch"] == 2 and len(info["samples"]["a"]) == 2


def test_export_has_transfer_signatures(trained):
    import tensorflow as tf

    tmp, model, run_dir, _ = trained
    loaded = tf.saved_model.load(str(tmp / "sm" / "cyc" / "1"))
    assert {"serving_default", "a2b", "b2a", "a2b_bytes", "b2a_bytes"} <= set(loaded.signatures)
    x = model.sample_a
    # Within one uint8 level: under mixed_bfloat16 the graph and eager kernels may round one pixel differently.
    np.testing.assert_allclose(loaded.signatures["b2a"](images=tf.constant(x))["images"].numpy().astype(int),
                               model.transfer(x, "b2a").astype(int), atol=1)
    odd = np.random.default_rng(0).integers(0, 256, (23, 41, 3), dtype=np.uint8)
    png = tf.io.encode_png(odd)
    out = loaded.signatures["serving_default"](image_bytes=tf.stack([png, tf.io.encode_jpeg(x[0])]))["image_bytes"]
    shapes = [tuple(tf.io.decode_png(o).shape) for o in out.numpy()]
    assert shapes == [(23, 41, 3), (16, 16, 3)]
    assert np.abs(tf.io.decode_png(out[0]).numpy().astype(int) - model.transfer(odd[None], "a2b")[0]).max() <= 1


def test_export_of_a_run_is_rest_servable(trained):
    """`python cli.py export RUN` of a fresh CycleGAN run: every signature batched (TF Serving's REST rules),
    `directions` included (request [batch] -> json [batch])."""
    import tensorflow as tf
    from click.testing import CliRunner

    from keras_gans.cli import main
    from keras_gans.export.savedmodel import read_json_signature, rest_problems

    tmp, model, run_dir, _ = trained
    res = CliRunner().invoke(main, ["export", str(run_dir), "--out", str(tmp / "cli_sm"), "--name", "c"])
    assert res.exit_code == 0, res.output
    sigs = tf.saved_model.load(str(tmp / "cli_sm" / "c" / "1")).signatures
    assert rest_problems(sigs) == []
    assert sigs["directions"](request=tf.constant([0, 0]))["json"].shape == (2,)
    assert read_json_signature(sigs, "directions")["photo2style"] in ("a2b", "b2a")


def test_transfer_folder_with_corrupt_files(trained, tmp_path):
    from keras_gans.cli import main

    tmp, model, run_dir, _ = trained
    src = tmp_path / "in"
    _write(src / "a.png", (40, 30), (120, 200, 90))
    _write(src / "sub" / "b.jpg", (17, 23), (30, 60, 200), "JPEG")
    noise = np.random.default_rng(3).integers(0, 256, (16, 16, 3), dtype=np.uint8)
    Image.fromarray(noise).save(src / "c.bmp")  # not a flat colour: instance norm of a constant image is ill-posed
    (src / "bad.png").write_bytes(b"\x89PNG not really an image")
    (src / "empty.jpg").write_bytes(b"")
    (src / "notes.txt").write_text("not an image")
    out = tmp_path / "out"
    res = CliRunner().invoke(main, ["transfer", "cyclegan", "--input", str(src), "--output", str(out),
                                    "--run", str(run_dir)])
    assert res.exit_code == 2, (res.output, res.exception)
    assert "bad.png" in res.stderr and "empty.jpg" in res.stderr and "Traceback" not in res.stderr
    assert res.stderr.strip().splitlines()[-1].startswith("error: 2 of 5 input(s)")
    assert Image.open(out / "a.png").size == (40, 30)
    assert Image.open(out / "sub" / "b.jpg").size == (17, 23) and Image.open(out / "sub" / "b.jpg").format == "JPEG"
    assert Image.open(out / "c.png").size == (16, 16)
    assert sorted(p.name for p in out.rglob("*") if p.is_file()) == ["a.png", "b.jpg", "c.png"]

    # the export gives the same picture as the run; a clean folder exits 0
    (src / "bad.png").unlink()
    (src / "empty.jpg").unlink()
    res = CliRunner().invoke(main, ["transfer", "cyclegan", "--input", str(src / "c.bmp"), "--output",
                                    str(tmp_path / "out2"), "--model", str(tmp / "sm" / "cyc"), "--direction", "b2a"])
    assert res.exit_code == 0, (res.output, res.exception)
    got = np.asarray(Image.open(tmp_path / "out2" / "c.png"))
    np.testing.assert_array_equal(got, model.transfer(np.asarray(Image.open(src / "c.bmp"))[None], "b2a")[0])


def test_transfer_usage_errors(tmp_path):
    from keras_gans.cli import main

    _write(tmp_path / "x.png", (8, 8), (0, 0, 0))
    res = CliRunner().invoke(main, ["transfer", "dcgan", "--input", str(tmp_path / "x.png"), "--output", str(tmp_path)])
    assert res.exit_code == 2 and "transfer needs a translator preset (cut_ukiyoe, cyclegan, cyclegan_ukiyoe" in res.stderr
    res = CliRunner().invoke(main, ["transfer", "ukiyoe", "--input", str(tmp_path / "x.png"), "--output",
                                    str(tmp_path / "o"), "--set-nothing"])
    assert res.exit_code == 2
    res = CliRunner().invoke(main, ["transfer", "ukiyoe", "--input", str(tmp_path / "x.png"), "--output",
                                    str(tmp_path / "o"), "--model", str(tmp_path)])
    assert res.exit_code == 2 and "saved_model.pb" in res.stderr


@pytest.mark.slow
def test_resume_is_exact_including_pools(tmp_path):
    """2 epochs in one go == 1 epoch + --resume 1 epoch: nets, optimizers, pools and LR schedule all restored."""
    cfg = cycle_config(tmp_path)
    cfg["train"]["deterministic"] = True
    full, resumed = train_straight_and_resumed(cfg, tmp_path)
    for a, b in zip(full.weights, resumed.weights):
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b), err_msg=a.path)
    np.testing.assert_array_equal(full.pool_b.numpy(), resumed.pool_b.numpy())
