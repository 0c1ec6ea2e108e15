"""The GAN family on one core: gradient penalty, spectral norm, weight clipping, n_critic, watchdog, presets."""

from __future__ import annotations

import csv
import math

import numpy as np
import pytest
import tensorflow as tf

from conftest import TINY_OVERRIDES, tiny_config

PRESETS = ["sngan", "wgan", "wgan_gp", "lsgan", "hinge", "mlp_gan"]

# Tiny sizes for presets loaded through the ordinary config path (load_config + overrides, as `--set` does).
TINY = TINY_OVERRIDES  # the tiny GAN every test here trains
INFO = {"image_shape": [16, 16, 1], "n_images": 64}


def _model(cfg, build=True):
    from keras_gans.models.gan import GAN
    from keras_gans.core.runtime import configure_runtime

    configure_runtime(cfg)
    model = GAN.from_config(cfg, INFO)
    if build:
        model.build_optimizers()
    return model


def _batch(n=16, seed=0):
    import tensorflow as tf

    rng = np.random.default_rng(seed)
    return {"image": tf.constant(rng.uniform(-1, 1, (n, 16, 16, 1)).astype("float32"))}


def _with_linear_critic(cfg):
    """(model, w): the config's GAN with D replaced by D(x) = <w, x> + b, whose input gradient is w everywhere."""
    import keras

    model = _model(cfg, build=False)
    model.discriminator = keras.Sequential(
        [keras.Input((16, 16, 1)), keras.layers.Flatten(), keras.layers.Dense(1)], name="linear_critic"
    )
    model.d_optimizer.build(model.discriminator.trainable_variables)
    return model, model.discriminator.layers[-1].kernel.numpy().ravel()


# ----- gradient penalty ----------------------------------------------------------------------------------------
def test_gradient_penalty_closed_form_linear_critic():
    """D(x) = <w, x> + b has gradient w everywhere: the penalty is lambda * (||w|| - 1)^2 for every sample."""
    import tensorflow as tf

    from keras_gans.parts.losses import gradient_penalty

    rng = np.random.default_rng(1)
    w = rng.normal(size=(16 * 16,)).astype("float32") * 0.2
    critic = lambda x: tf.reduce_sum(tf.reshape(x, [tf.shape(x)[0], -1]) * w, axis=1) + 0.3  # noqa: E731
    real = tf.constant(rng.uniform(-1, 1, (8, 16, 16, 1)), tf.float32)
    fake = tf.constant(rng.uniform(-1, 1, (8, 16, 16, 1)), tf.float32)
    alpha = tf.constant(rng.uniform(size=8), tf.float32)
    gp = gradient_penalty(critic, real, fake, alpha, 10.0).numpy()
    expected = 10.0 * (np.linalg.norm(w) - 1.0) ** 2
    assert expected > 1.0  # not trivially zero
    np.testing.assert_allclose(gp, np.full(8, expected), rtol=1e-4)


def test_gradient_penalty_uses_one_alpha_per_sample():
    """D(x) = ||x||^2 / 2 has gradient x: the penalty is (||a_i x_i + (1 - a_i) g_i|| - 1)^2 per sample."""
    import tensorflow as tf

    from keras_gans.parts.losses import gradient_penalty

    rng = np.random.default_rng(2)
    real = rng.uniform(-1, 1, (6, 4, 4, 1)).astype("float32")
    fake = rng.uniform(-1, 1, (6, 4, 4, 1)).astype("float32")
    alpha = rng.uniform(size=6).astype("float32")
    critic = lambda x: 0.5 * tf.reduce_sum(tf.square(x), axis=[1, 2, 3])  # noqa: E731
    gp = gradient_penalty(critic, tf.constant(real), tf.constant(fake), tf.constant(alpha), 10.0).numpy()
    a = alpha[:, None, None, None]
    x_hat = (a * real + (1 - a) * fake).reshape(6, -1)
    np.testing.assert_allclose(gp, 10.0 * (np.linalg.norm(x_hat, axis=1) - 1) ** 2, rtol=1e-4)


def test_model_gradient_penalty_on_linear_critic():
    """Through the model's D update (wgan, gp_weight 10): the logged gp equals lambda * (||w|| - 1)^2."""
    cfg = tiny_config(loss={"type": "wgan"}, gan={"gp_weight": 10.0}, net={"d_norm": "none"})
    model, w = _with_linear_critic(cfg)
    data = _batch(16)
    logs = model.d_update(data["image"], data, 0)
    expected = 10.0 * (np.linalg.norm(w) - 1.0) ** 2
    assert expected > 0.5
    assert float(logs["gp"]) == pytest.approx(expected, rel=1e-4)


def test_model_r1_penalty_on_linear_critic():
    """Through the model's D update (bce, r1_gamma 2): the logged gp equals gamma/2 * ||w||^2 for D(x) = <w, x>,
    and D's loss carries it (the same update without R1 has a loss smaller by exactly that)."""
    cfg = tiny_config(gan={"r1_gamma": 2.0}, net={"d_norm": "none"})
    model, w = _with_linear_critic(cfg)
    data = _batch(16)
    fake = tf.zeros_like(data["image"])
    logs = model.d_update(data["image"], data, 0, fake=fake)
    assert float(logs["gp"]) == pytest.approx(np.sum(w**2), rel=1e-4)
    assert float(logs["d_loss"]) == pytest.approx(float(logs["d_adv_loss"]) + np.sum(w**2), rel=1e-4)


def test_top_k_fraction_decays_per_epoch_to_its_floor_and_cuts_g_loss():
    """gan.top_k: k / batch = max(floor, decay ** epoch), the epoch counted in G updates x batch / images; G's loss
    is then the mean over the fakes D scores highest, so it is lower than the whole batch's (same nets, same z)."""
    import keras

    def model_at(updates, top_k):
        keras.utils.set_random_seed(3)
        model, _ = _with_linear_critic(tiny_config(gan={"top_k": top_k, "top_k_decay": 0.5}, net={"d_norm": "none"}))
        model.g_optimizer.build(model.generator.trainable_variables)
        model.g_optimizer.iterations.assign(int(updates))
        return model

    per_epoch = INFO["n_images"] / tiny_config()["train"]["batch_size"]
    for updates, want in ((0, 1.0), (per_epoch, 0.5), (5 * per_epoch, 0.5)):
        assert float(model_at(updates, 0.5).top_k_fraction()) == pytest.approx(want)
    data = _batch(16)
    top = float(model_at(5 * per_epoch, 0.5).g_update(16, data, 0)["g_loss"])
    assert float(model_at(5 * per_epoch, 0.0).g_update(16, data, 0)["g_loss"]) > top + 1e-4


# ----- spectral norm -------------------------------------------------------------------------------------------
def test_spectral_norm_keeps_top_singular_value_near_one():
    import keras

    cfg = tiny_config(net={"spectral_norm": True, "d_norm": "none"}, loss={"type": "hinge"})
    model = _model(cfg)
    sn_layers = [l for l in model.discriminator.layers if isinstance(l, keras.layers.SpectralNormalization)]
    assert len(sn_layers) == 3  # two convs at 16 px and the score head: every D layer with a kernel
    data = _batch(16)
    for _ in range(8):
        model.train_step(data)
    for layer in sn_layers:
        k = layer.layer.kernel.numpy()
        sigma = np.linalg.svd(k.reshape(-1, k.shape[-1]), compute_uv=False)[0]
        assert abs(sigma - 1.0) < 0.05, (layer.name, sigma)


def test_installed_spectral_normalization_has_stop_gradient_fix():
    """keras#20309 / #20353: the power-iteration vectors must not carry gradients."""
    import inspect

    import keras

    src = inspect.getsource(keras.layers.SpectralNormalization.normalized_weights)
    assert "stop_gradient(vector_u)" in src and "stop_gradient(vector_v)" in src


# ----- weight clipping and n_critic ----------------------------------------------------------------------------
def test_weight_clipping_bounds_every_critic_weight():
    c = 0.01
    cfg = tiny_config(loss={"type": "wgan"}, gan={"clip_value": c}, train={"d_lr": 0.05, "optimizer": "rmsprop"})
    model = _model(cfg)
    data = _batch(16)
    for _ in range(3):
        model.train_step(data)
    weights = [w.numpy() for w in model.discriminator.trainable_variables]
    top = max(float(np.abs(w).max()) for w in weights)
    assert top <= c + 1e-7
    assert top == pytest.approx(c, abs=1e-6)  # the bound is active: a large lr pushes weights to it


def test_n_critic_five_d_updates_per_g_update():
    cfg = tiny_config(loss={"type": "wgan"}, gan={"gp_weight": 10.0, "d_steps": 5}, net={"d_norm": "layer"},
                      train={"batch_size": 4})
    model = _model(cfg)
    data = _batch(20)  # one train step takes d_steps x batch_size images
    for _ in range(3):
        model.train_step(data)
    assert int(model.d_optimizer.iterations.numpy()) == 15
    assert int(model.g_optimizer.iterations.numpy()) == 3


# ----- EMA -------------------------------------------------------------------------------------------------------
def test_ema_generator_is_a_warmed_up_average():
    cfg = tiny_config(gan={"ema": 0.999})
    model = _model(cfg)
    w0 = [w.numpy() for w in model.ema_generator.trainable_weights]
    data = _batch(16)
    model.train_step(data)
    g = [w.numpy() for w in model.generator.trainable_weights]
    e = [w.numpy() for w in model.ema_generator.trainable_weights]
    d = min(0.999, 2.0 / 11.0)  # warm-up after the first G update (iterations = 1)
    for a, b, c in zip(w0, g, e):
        np.testing.assert_allclose(c, d * a + (1 - d) * b, rtol=1e-4, atol=1e-6)
    assert model.sampling_generator is model.ema_generator


# ----- watchdog ------------------------------------------------------------------------------------------------
class _FakeModel:
    stop_training = False


def _dog(**kw):
    from keras_gans.training.callbacks import Watchdog

    dog = Watchdog(**kw)
    dog.set_model(_FakeModel())
    return dog


def test_watchdog_stops_on_nan():
    dog = _dog(on_nan="stop")
    dog.on_train_batch_end(0, {"d_loss": 0.7, "g_loss": 0.7})
    assert dog.stopped_reason is None
    dog.on_train_batch_end(1, {"d_loss": float("nan"), "g_loss": 0.7})
    assert dog.model.stop_training and "non-finite d_loss" in dog.stopped_reason


def test_watchdog_warns_on_inf_without_stopping():
    dog = _dog(on_nan="warn")
    dog.on_train_batch_end(0, {"g_loss": float("inf")})
    assert not dog.model.stop_training and dog.events and "g_loss" in dog.events[0]


def test_watchdog_d_loss_collapse():
    dog = _dog(d_loss_floor=1e-3, patience=5, on_collapse="stop")
    for i in range(4):
        dog.on_train_batch_end(i, {"d_loss": 1e-5})
    assert dog.stopped_reason is None
    dog.on_train_batch_end(4, {"d_loss": 1e-5})
    assert "below" in dog.stopped_reason and dog.model.stop_training
    off = _dog(d_loss_floor=0, patience=1, on_collapse="stop")  # the WGAN presets turn the check off
    off.on_train_batch_end(0, {"d_loss": 0.0})
    assert off.stopped_reason is None


def test_watchdog_grad_norm_warns_once_then_stops_by_config():
    dog = _dog(max_grad_norm=100.0)
    for i in range(5):
        dog.on_train_batch_end(i, {"d_loss": 1.0, "d_grad_norm": 1e6})
    assert len(dog.events) == 1 and "d_grad_norm" in dog.events[0] and dog.stopped_reason is None
    stop = _dog(max_grad_norm=100.0, on_grad_norm="stop")
    stop.on_train_batch_end(0, {"d_loss": 1.0, "g_grad_norm": 1e3})
    assert "g_grad_norm" in stop.stopped_reason


def test_watchdog_stops_a_real_run_on_injected_nan(tmp_path):
    """A NaN learning rate poisons D at the first update; the run stops with one clear error."""
    from keras_gans.config.loader import load_config
    from keras_gans.core.errors import UserError
    from keras_gans.training.driver import train

    cfg = load_config("dcgan", {**TINY, "train.steps_per_epoch": 3})
    cfg["train"]["d_lr"] = float("nan")  # past the config check (which refuses NaN), to reach the watchdog
    with pytest.raises(UserError, match="non-finite"):
        train(cfg, tmp_path / "run")


def test_watchdog_stops_a_real_run_on_d_loss_collapse(tmp_path):
    """Config keys reach the callback: a floor above any loss with patience 1 and on_collapse=stop stops at once."""
    from keras_gans.config.loader import load_config
    from keras_gans.core.errors import UserError
    from keras_gans.training.driver import train

    cfg = load_config("lsgan", {**TINY, "watchdog.d_loss_floor": 1e6, "watchdog.patience": 1,
                                "watchdog.on_collapse": "stop"})
    with pytest.raises(UserError, match="D wins outright"):
        train(cfg, tmp_path / "run")


def test_watchdog_config_is_validated():
    from keras_gans.config.loader import load_config
    from keras_gans.core.errors import UserError

    with pytest.raises(UserError, match="watchdog.on_grad_norm"):
        load_config("dcgan", {"watchdog.on_grad_norm": "explode"})


# ----- presets -------------------------------------------------------------------------------------------------
def test_presets_follow_their_papers():
    from keras_gans.config.loader import load_config

    w = load_config("wgan")
    assert (w["loss"]["type"], w["gan"]["clip_value"], w["train"]["optimizer"], w["train"]["d_lr"],
            w["gan"]["d_steps"]) == ("wgan", 0.01, "rmsprop", 5e-5, 5)
    gp = load_config("wgan_gp")
    assert (gp["gan"]["gp_weight"], gp["gan"]["d_steps"], gp["train"]["d_lr"], gp["train"]["beta_2"]) == (
        10.0, 5, 1e-4, 0.9)
    assert gp["net"]["d_norm"] in ("layer", "none") and gp["train"]["beta_1"] in (0.0, 0.5)
    sn = load_config("sngan")
    assert sn["net"]["spectral_norm"] and sn["net"]["d_norm"] == "none"
    assert load_config("lsgan")["loss"]["type"] == "lsgan" and load_config("hinge")["loss"]["type"] == "hinge"
    assert load_config("mlp_gan")["net"]["arch"] == "mlp"


@pytest.mark.parametrize("preset", PRESETS)
def test_preset_trains_two_steps_with_finite_losses(preset, tmp_path):
    from keras_gans.training.callbacks import read_csv
    from keras_gans.config.loader import load_config
    from keras_gans.training.driver import train

    cfg = load_config(preset, TINY)
    model, run_dir, _ = train(cfg, tmp_path / preset)
    row = read_csv(run_dir / "history.csv")[-1]
    for k in ("d_loss", "g_loss", "d_grad_norm", "g_grad_norm", "sample_diversity"):
        assert math.isfinite(float(row[k])), (k, row[k])
    assert float(row["sample_diversity"]) > 0
    d_steps = cfg["gan"]["d_steps"]
    assert int(model.g_optimizer.iterations.numpy()) == 2
    assert int(model.d_optimizer.iterations.numpy()) == 2 * d_steps
    assert (run_dir / "samples" / "epoch_0001.png").is_file()
    if cfg["gan"]["clip_value"]:
        c = cfg["gan"]["clip_value"]
        assert all(float(np.abs(w.numpy()).max()) <= c + 1e-7 for w in model.discriminator.trainable_variables)


def test_gradient_penalty_with_batch_norm_warns():
    cfg = tiny_config(loss={"type": "wgan"}, gan={"gp_weight": 10.0}, net={"d_norm": "batch"})
    with pytest.warns(UserWarning, match="per-sample"):
        _model(cfg, build=False)


def test_d_g_z1_and_z2_are_d_before_and_after_its_update():
    from keras_gans.models.gan import GAN

    cfg = tiny_config(gan={"reuse_fake": True})  # one batch of fakes for D's and G's update, as the tutorial
    m = GAN.from_config(cfg, {"image_shape": [16, 16, 1]})
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
    from keras_gans.training.driver import train

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
