"""DiffAugment and the adaptive p (keras_gans/parts/augment.py): differentiability, what each op does to pixels, the
per-image probability, the ADA update, and augmentation wired into every family that has a discriminator."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import tensorflow as tf

from conftest import tiny_config


def _uniform(seed=0):
    """A stateless uniform(shape, salt) like the models' noise."""
    return lambda shape, salt: tf.random.stateless_uniform(shape, seed=[seed, salt])


def _fixed(values):
    """A 'uniform' that returns the given numbers (broadcast to the asked shape), to pick shifts by hand."""
    return lambda shape, salt: tf.broadcast_to(tf.constant(values, tf.float32), shape)


def _shift(img, dy, dx):
    """img [H, W, C] moved down dy and right dx pixels, zero fill."""
    h, w = img.shape[:2]
    out = np.zeros_like(img)
    out[max(dy, 0): h + min(dy, 0), max(dx, 0): w + min(dx, 0)] = img[max(-dy, 0): h - max(dy, 0),
                                                                       max(-dx, 0): w - max(dx, 0)]
    return out


# ----- differentiability ------------------------------------------------------------------------------------------
@pytest.mark.parametrize("op", ["color", "translation", "cutout"])
def test_gradients_reach_g_through_each_op(op):
    import keras
    from keras_gans.parts.augment import diff_augment

    keras.utils.set_random_seed(0)
    g = keras.Sequential([keras.Input((8,)), keras.layers.Dense(8 * 8 * 3), keras.layers.Reshape((8, 8, 3)),
                          keras.layers.Activation("tanh")])
    d = keras.Sequential([keras.Input((8, 8, 3)), keras.layers.Flatten(), keras.layers.Dense(1)])
    z = tf.random.stateless_normal([16, 8], seed=[1, 2])
    with tf.GradientTape() as tape:
        x = diff_augment(g(z), (op,), _uniform(), salt=3)
        loss = tf.reduce_mean(tf.nn.softplus(-d(x)))
    grads = tape.gradient(loss, g.trainable_variables)
    assert all(gr is not None for gr in grads)
    norm = float(tf.linalg.global_norm(grads))
    assert np.isfinite(norm) and norm > 1e-4, norm


# ----- translation ------------------------------------------------------------------------------------------------
def test_translation_shifts_by_integer_pixels_with_zero_fill():
    from keras_gans.parts.augment import translation

    img = np.arange(1, 8 * 8 + 1, dtype=np.float32).reshape(1, 8, 8, 1) / 64.0  # every pixel distinct and > 0
    # ratio 0.25 of 8 px: shifts in -2..2; u = 0.9 -> floor(0.9 * 5) - 2 = +2 rows, u = 0.1 -> -2 columns
    out = translation(tf.constant(img), _fixed([0.9, 0.1]), salt=0, ratio=0.25).numpy()
    assert out.shape == img.shape
    np.testing.assert_array_equal(out[0], _shift(img[0], 2, -2))
    assert (out[0, :2] == 0).all() and (out[0, :, -2:] == 0).all()

    # random draws: each output is its input moved by one integer shift within the range, nothing else
    x = np.random.default_rng(0).uniform(0.1, 1.0, (64, 8, 8, 3)).astype(np.float32)
    out = translation(tf.constant(x), _uniform(1), salt=5, ratio=0.25).numpy()
    seen = set()
    for a, b in zip(x, out):
        hits = [(dy, dx) for dy in range(-2, 3) for dx in range(-2, 3) if np.array_equal(b, _shift(a, dy, dx))]
        assert len(hits) == 1, hits
        seen.add(hits[0])
    assert len(seen) >= 15  # the 25 shifts are all drawn, per image


# ----- cutout -----------------------------------------------------------------------------------------------------
def test_cutout_zeroes_a_square_of_the_configured_size():
    from keras_gans.parts.augment import cutout

    n, size = 4000, 16
    ones = tf.ones([n, size, size, 1])
    out = cutout(ones, _uniform(2), salt=7, ratio=0.5).numpy()[..., 0]
    assert out.shape == (n, size, size) and set(np.unique(out)) <= {0.0, 1.0}
    zero = out == 0
    rows, cols = zero.any(2).sum(1), zero.any(1).sum(1)
    assert (zero.sum((1, 2)) == rows * cols).all()  # the zeroed pixels form one axis-aligned rectangle
    assert rows.max() == 8 and cols.max() == 8 and rows.min() >= 4  # an 8x8 square, clipped at the border
    inside = (zero.sum((1, 2)) == 64).mean()  # fully inside: centre in 4..12 of 0..16 on both axes, (9/17)^2
    assert abs(inside - (9 / 17) ** 2) < 0.03, inside
    # centre uniform over 17 positions per axis -> mean rows covered 116/17, zeroed fraction (116/17/16)^2 = 0.182
    expected = (116 / 17 / 16) ** 2
    assert abs(zero.mean() - expected) < 0.01, (zero.mean(), expected)
    # every place is hit: the squares are spread over the whole image
    assert zero.mean(0).min() > 0.05


# ----- colour -----------------------------------------------------------------------------------------------------
def test_color_changes_brightness_saturation_and_contrast_per_image():
    from keras_gans.parts.augment import color

    n = 512
    x = np.random.default_rng(3).uniform(-0.6, 0.6, (n, 8, 8, 3)).astype(np.float32)
    y = color(tf.constant(x), _uniform(4), salt=11).numpy()
    shift = y.mean((1, 2, 3)) - x.mean((1, 2, 3))  # brightness: contrast and saturation keep the mean
    assert np.abs(shift).max() <= 0.5 + 1e-5 and shift.std() > 0.25  # ~U(-0.5, 0.5): std 0.289
    luma_x, luma_y = x.mean(-1), y.mean(-1)
    c = luma_y.std((1, 2)) / luma_x.std((1, 2))  # contrast factor, per image
    assert c.min() >= 0.5 - 1e-4 and c.max() <= 1.5 + 1e-4 and c.max() - c.min() > 0.8
    chroma_x, chroma_y = x - luma_x[..., None], y - luma_y[..., None]
    ratio = chroma_y / chroma_x  # saturation * contrast, the same at every pixel of one image
    per_image = ratio.reshape(n, -1)
    np.testing.assert_allclose(per_image, np.broadcast_to(np.median(per_image, 1, keepdims=True), per_image.shape),
                               rtol=1e-2, atol=1e-2)
    s = np.median(per_image, 1) / c
    assert s.min() >= -1e-3 and s.max() <= 2.0 + 1e-3 and s.std() > 0.45  # ~U(0, 2): std 0.577


# ----- probability ------------------------------------------------------------------------------------------------
def test_p_zero_is_identity_and_p_one_always_augments():
    from keras_gans.parts.augment import diff_augment

    x = tf.random.stateless_uniform([400, 12, 12, 3], seed=[5, 5], minval=-1, maxval=1)
    policy = ("color", "translation", "cutout")
    np.testing.assert_array_equal(diff_augment(x, policy, _uniform(), 1, p=0.0).numpy(), x.numpy())
    always = diff_augment(x, policy, _uniform(), 1, p=None).numpy()
    np.testing.assert_array_equal(diff_augment(x, policy, _uniform(), 1, p=tf.constant(1.0)).numpy(), always)
    assert (np.abs(always - x.numpy()).reshape(400, -1).max(1) > 0).all()
    half = diff_augment(tf.ones([1000, 8, 8, 1]), ("cutout",), _uniform(), 1, p=0.5).numpy()
    changed = (half.reshape(1000, -1).min(1) == 0).mean()
    assert 0.45 < changed < 0.55, changed


# ----- adaptive p -------------------------------------------------------------------------------------------------
def test_next_p_rises_when_d_wins_and_falls_when_it_loses():
    from keras_gans.parts.augment import next_p

    wins, loses = tf.fill([32, 1], 5.0), tf.fill([32, 1], -5.0)
    p, r_t = next_p(tf.constant(0.5), wins, 0.0, 0.6, 0.01)
    assert float(r_t) == 1.0 and float(p) == pytest.approx(0.51)
    p, r_t = next_p(tf.constant(0.5), loses, 0.0, 0.6, 0.01)
    assert float(r_t) == -1.0 and float(p) == pytest.approx(0.49)
    assert float(next_p(tf.constant(1.0), wins, 0.0, 0.6, 0.1)[0]) == 1.0  # clipped to [0, 1]
    assert float(next_p(tf.constant(0.0), loses, 0.0, 0.6, 0.1)[0]) == 0.0
    patches = tf.concat([tf.fill([4, 3, 3, 1], 0.9), tf.fill([4, 3, 3, 1], 0.1)], 0)  # LSGAN PatchGAN, thr 0.5
    assert float(next_p(tf.constant(0.5), patches, 0.5, 0.6, 0.01)[1]) == 0.0


def _adaptive_cfg(**train):
    cfg = tiny_config(augment={"policy": "translation,cutout", "adaptive": True, "ada_images": 160},
                      train={"g_lr": 0.0, "d_lr": 5e-3, "steps_per_epoch": 4, **train})
    return cfg


def test_adaptive_p_rises_in_training_when_d_wins_and_resumes(tmp_path):
    """G frozen (g_lr 0) and a fast D: D soon wins on every real image, so p climbs (16/160 per step) and
    history.csv logs it; the checkpoint keeps p, so a resumed run (which restores the same RunCheckpoint) starts
    from it."""
    from keras_gans.core.checkpoint import RunCheckpoint
    from keras_gans.training.build import build_model
    from keras_gans.training.driver import train

    cfg = _adaptive_cfg(epochs=2)
    model, run, hist = train(cfg, tmp_path / "run", verbose=0)
    assert "aug_p" in hist and "ada_rt" in hist
    assert hist["aug_p"][-1] > hist["aug_p"][0] and hist["aug_p"][-1] > 0.3, hist["aug_p"]
    assert hist["ada_rt"][-1] > 0.6
    p_end = float(model.aug_p.numpy())
    assert p_end > 0.5
    header = (run / "history.csv").read_text().splitlines()[0].split(",")
    assert "aug_p" in header and "ada_rt" in header

    # a fresh model restored from the run's checkpoint has the same p (not the initial 0)
    fresh = build_model(cfg, model.data_info)
    fresh.build_optimizers()
    RunCheckpoint(fresh, run).restore()
    assert float(fresh.aug_p.numpy()) == pytest.approx(p_end)


def test_fixed_policy_with_gradient_penalty_trains_and_logs_no_p():
    from keras_gans.data.builtin import load_digits
    from keras_gans.data.pipeline import make_train_dataset
    from keras_gans.models.gan import GAN
    from keras_gans.training.build import build_model

    cfg = tiny_config(augment={"policy": "translation,cutout,color", "p": 0.5},
                      loss={"type": "wgan"}, gan={"gp_weight": 10.0}, net={"d_norm": "layer"})
    arrays, info = GAN.prepare_data(cfg, load_digits(16))
    model = build_model(cfg, info)
    logs = {k: float(v) for k, v in model.train_step(next(iter(make_train_dataset(arrays, 16, 1)))).items()}
    assert "aug_p" not in logs and model.aug_p is None
    assert np.isfinite(logs["d_loss"]) and logs["gp"] > 0


def test_curves_draw_aug_p_in_its_own_panel(tmp_path):
    from keras_gans.training.curves import draw_curves

    (tmp_path / "history.csv").write_text("epoch,d_loss,g_loss,aug_p,ada_rt\n1,1.0,1.0,0.1,0.7\n2,0.9,1.1,0.2,0.65\n")
    (tmp_path / "config.yaml").write_text("augment: {adaptive: true, target: 0.6}\n")
    out = draw_curves(tmp_path)
    import matplotlib.image as mpimg

    w = mpimg.imread(out).shape[1]
    assert w == 2 * 5 * 100  # two panels (losses, augmentation) of 5 in at 100 dpi


# ----- every family -----------------------------------------------------------------------------------------------
@pytest.mark.parametrize("mode,loss", [
    ("acgan", {"type": "bce"}),
    pytest.param("projection", {"type": "hinge"}, marks=pytest.mark.slow),
    pytest.param("concat", {"type": "wgan", "gp_weight": 10.0}, marks=pytest.mark.slow),
])
def test_conditional_models_train_with_augmentation(tmp_path, mode, loss):
    from keras_gans.training.driver import train

    cfg = tiny_config(model="acgan" if mode == "acgan" else "cgan", loss={"type": loss["type"]},
                      gan={k: v for k, v in loss.items() if k != "type"},
                      augment={"policy": "translation,cutout", "adaptive": True, "ada_images": 1000},
                      conditional={"mode": mode, "heads": [{"name": "label", "type": "softmax", "classes": 10}]})
    cfg["train"]["steps_per_epoch"] = 2
    cfg["data"]["max_images"] = 64
    if loss.get("gp_weight"):
        cfg["net"]["d_norm"] = "layer"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # adaptive p with a WGAN critic warns; the path must still run
        model, run, hist = train(cfg, tmp_path / "run", verbose=0)
    assert np.isfinite(hist["d_loss"][-1]) and np.isfinite(hist["g_loss"][-1])
    assert 0.0 <= hist["aug_p"][-1] <= 1.0 and -1.0 <= hist["ada_rt"][-1] <= 1.0
    assert ("label_acc_real" in hist) == (mode == "acgan")


def test_cyclegan_trains_with_augmentation_one_p_per_discriminator():
    from keras_gans.data.pipeline import make_train_dataset

    from conftest import cycle_config

    cfg = cycle_config()
    cfg["augment"].update({"policy": "translation,cutout", "adaptive": True, "ada_images": 20})
    from keras_gans.training.build import build_model
    from keras_gans.training.driver import prepare

    _, arrays, info = prepare(cfg)
    model = build_model(cfg, info)
    d0 = [w.copy() for w in model.d_a.get_weights()]
    batch = next(iter(make_train_dataset(arrays, 2, 2, seed=0, image_keys=("a", "b"))))
    logs = {k: float(v) for k, v in model.train_step(batch).items()}
    for k in ("aug_p_a", "aug_p_b", "ada_rt_a", "ada_rt_b", "d_loss", "g_loss"):
        assert np.isfinite(logs[k]), k
    assert 0.0 <= logs["aug_p_a"] <= 0.1 and 0.0 <= logs["aug_p_b"] <= 0.1  # one step of 2/20 at most
    assert model.aug_p_a is not model.aug_p_b
    assert any(not np.allclose(a, b) for a, b in zip(d0, model.d_a.get_weights()))
    # D's view in training is augmented, outside training it is the image itself
    x = tf.ones([2, 16, 16, 3])
    model.aug_p_a.assign(1.0)
    assert np.array_equal(model.d_view(x, "a", 1, training=False).numpy(), x.numpy())
    assert not np.array_equal(model.d_view(x, "a", 1, training=True).numpy(), x.numpy())


# ----- config ------------------------------------------------------------------------------------------------------
def test_colour_warning_on_colour_conditioned_presets():
    from keras_gans.config.loader import load_config

    with pytest.warns(UserWarning, match="colour augmentation"):
        load_config("acgan", {"augment.policy": "color"})
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        cfg = load_config("acgan", {"augment.policy": "translation,cutout"})
        assert cfg["augment"]["policy"] == "translation,cutout"
        load_config("dcgan", {"augment.policy": "color,translation,cutout"})  # unconditional: colour is fine
        load_config("acgan_digits", {"augment.policy": "color"})  # digit classes name no colour
    with pytest.warns(UserWarning, match="colour augmentation"):
        load_config("acgan_multilabel", {"augment.policy": "color,translation"})  # 'red cube', 'blue sphere'...


def test_bad_augment_settings_are_user_errors():
    from keras_gans.config.loader import load_config
    from keras_gans.core.errors import UserError

    with pytest.raises(UserError, match="unknown op"):
        load_config("dcgan", {"augment.policy": "translation,rotate"})
    with pytest.raises(UserError, match="augment.p"):
        load_config("dcgan", {"augment.policy": "cutout", "augment.p": 1.5})
    with pytest.raises(UserError, match="needs augment.policy"):
        load_config("dcgan", {"augment.adaptive": True})
    with pytest.raises(UserError, match="vae has no discriminator"):
        load_config("vae", {"augment.policy": "translation"})
    load_config("vae", {})  # the default (off) is fine


# ----- the offline default data (issue 12, item 5) -------------------------------------------------------------------
def test_builtin_mnist_sample_is_real_mnist_and_dcgan_default():
    import gzip

    from conftest import shared_data
    from keras_gans.config.loader import load_config
    from keras_gans.data.builtin import MNIST_FILE, load_builtin

    assert MNIST_FILE.stat().st_size < 1_500_000  # shipped in the package: keep it small
    assert (MNIST_FILE.parent / "MNIST_LICENSE.txt").read_text().count("CC BY-SA 3.0") >= 1
    s = load_builtin("mnist", 28)
    assert s.images.shape == (5000, 28, 28, 1) and s.images.dtype == np.uint8
    assert np.bincount(s.labels["label"]).tolist() == [500] * 10
    assert load_builtin("mnist", 32, 3).images.shape == (5000, 32, 32, 3)
    cfg = load_config("dcgan")
    assert (cfg["data"]["builtin"], cfg["data"]["image_size"], cfg["data"]["path"]) == ("mnist", 28, None)
    assert load_config("dcgan", {"data.builtin": "digits"})["data"]["builtin"] == "digits"  # UCI still by name

    idx = [int(p.rsplit("/", 1)[1]) for p in s.paths]
    raw = shared_data("mnist") / "t10k-images-idx3-ubyte.gz"
    test = np.frombuffer(gzip.open(raw).read(), np.uint8, offset=16).reshape(-1, 28, 28)
    np.testing.assert_array_equal(s.images[..., 0], test[idx])  # pixels exactly as published
    labels = np.frombuffer(gzip.open(raw.with_name("t10k-labels-idx1-ubyte.gz")).read(), np.uint8, offset=8)
    np.testing.assert_array_equal(s.labels["label"], labels[idx])
