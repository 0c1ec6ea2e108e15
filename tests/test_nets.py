"""Nets as they were drawn (issue 13, section 1): each classic preset's layer table matches its description layer by
layer; the per-layer keys leave every older preset's nets unchanged; `nets` prints the tables without data; the
label source for G's fakes, the class-loss reduction and the spread of the latent noise (net.z_std)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from conftest import tiny_config

# Parameter counts of every older preset's nets, measured before the per-layer keys existed (issue 13).
OLD_PARAMS = {
    "acgan": {"generator": 1583331, "discriminator": 1178200},
    "acgan_digits": {"generator": 482977, "discriminator": 280331},
    "acgan_multilabel": {"generator": 1587427, "discriminator": 1237849},
    "cgan": {"generator": 482977, "discriminator": 267841},
    # 28 px since the default data became MNIST; issue 29: G 7x7x128 -> ConvT 64 s1 -> 32 s2 -> 1 s2, D 32-64
    # (the old nets: 834,369 / 213,377; at 32 px with the old keys pinned, as hinge)
    "dcgan": {"generator": 884897, "discriminator": 55489},
    "hinge": {"generator": 1436993, "discriminator": 1031681},
    "lsgan": {"generator": 1436993, "discriminator": 1031681},
    "mlp_gan": {"generator": 685824, "discriminator": 656385},
    "sngan": {"generator": 1436993, "discriminator": 1030594},
    "vae": {"encoder": 388928, "decoder": 323233},
    "wgan": {"generator": 1436993, "discriminator": 1031681},
    "wgan_gp": {"generator": 1436993, "discriminator": 1054721},
}


def _build(preset, **overrides):
    from keras_gans.commands.nets import build_from_config
    from keras_gans.config.loader import load_config

    cfg = load_config(preset, overrides)
    return build_from_config(cfg)


def _tables(preset, **overrides):
    from keras_gans.nets.summary import net_table

    model, subs = _build(preset, **overrides)
    return model, {k: net_table(m) for k, m in subs.items()}


def _of(rows, layer):
    return [r for r in rows if r["layer"] == layer]


def _row(rows, name):
    return next(r for r in rows if r["name"] == name)


# ----- older presets: unchanged -----------------------------------------------------------------------------------
@pytest.mark.parametrize("preset", sorted(OLD_PARAMS))
def test_older_presets_build_the_same_nets(preset):
    _, subs = _build(preset)
    assert {k: int(m.count_params()) for k, m in subs.items()} == OLD_PARAMS[preset]


# ----- the classic presets, layer by layer ------------------------------------------------------------------------
def test_acgan96_generator_as_drawn():
    model, t = _tables("acgan96")
    g = [r for r in t["generator"] if r["layer"] != "InputLayer"]
    z = _row(t["generator"], "z")
    assert z["output"] == (100,)
    assert _row(g, "g_hair_onehot")["output"] == (12,) and _row(g, "g_eyes_onehot")["output"] == (11,)
    assert _row(g, "g_condition")["output"] == (123,)
    kinds = [r["layer"] for r in g if r["layer"] not in ("CategoryEncoding", "Concatenate")]
    assert kinds == ["Dense", "Reshape", "ReLU", "BatchNormalization"] + 4 * [
        "UpSampling2D", "Conv2D", "ReLU", "BatchNormalization"] + ["Conv2D", "Activation"]
    dense = _row(g, "g_project")
    assert dense["units"] == 6 * 6 * 128 and dense["params"] == 123 * 4608 + 4608
    assert _of(g, "Reshape")[0]["output"] == (6, 6, 128)
    assert [r["momentum"] for r in _of(g, "BatchNormalization")] == [0.75] * 5
    ups = _of(g, "UpSampling2D")
    assert [(r["size"], r["interpolation"]) for r in ups] == [((2, 2), "nearest")] * 4
    convs = _of(g, "Conv2D")
    assert [(r["filters"], r["kernel"], r["strides"], r["padding"]) for r in convs] == [
        (512, (3, 3), (1, 1), "same"), (256, (3, 3), (1, 1), "same"), (128, (3, 3), (1, 1), "same"),
        (64, (3, 3), (1, 1), "same"), (3, (3, 3), (1, 1), "same")]
    assert [r["output"] for r in convs] == [(12, 12, 512), (24, 24, 256), (48, 48, 128), (96, 96, 64), (96, 96, 3)]
    assert g[-1]["activation"] == "tanh" and g[-1]["output"] == (96, 96, 3)


def test_acgan96_discriminator_and_training_setup():
    model, t = _tables("acgan96")
    d = t["discriminator"]
    convs = _of(d, "Conv2D")
    assert [(r["filters"], r["kernel"], r["strides"]) for r in convs] == [
        (32, (3, 3), (2, 2)), (64, (3, 3), (1, 1)), (128, (3, 3), (2, 2)), (256, (3, 3), (1, 1)),
        (256, (3, 3), (2, 2))]
    assert [r["output"] for r in convs] == [(48, 48, 32), (48, 48, 64), (24, 24, 128), (24, 24, 256), (12, 12, 256)]
    assert [r["rate"] for r in _of(d, "Dropout")] == [0.25, 0.25, 0.25, 0.5, 0.5]
    assert [r["slope"] for r in _of(d, "LeakyReLU")] == [0.2] * 5
    assert [r["momentum"] for r in _of(d, "BatchNormalization")] == [0.75] * 3
    # each block: conv -> LeakyReLU -> dropout (-> BN after the 2nd-4th), as in the Keras original
    body = [r["layer"] for r in d[1: d.index(_row(d, "d_features"))]]
    assert body == ["Conv2D", "LeakyReLU", "Dropout"] + 3 * ["Conv2D", "LeakyReLU", "Dropout", "BatchNormalization"] + [
        "Conv2D", "LeakyReLU", "Dropout"]
    heads = {r["name"]: r["units"] for r in _of(d, "Dense")}
    assert heads == {"d_score": 1, "d_hair": 12, "d_eyes": 11}
    assert [h.type for h in model.heads] == ["softmax", "softmax"]
    assert (model.adv_weight, [h.weight for h in model.heads]) == (1.0, [0.3, 0.35])
    cfg = model.cfg
    assert (cfg["train"]["batch_size"], cfg["gan"]["d_steps"], cfg["gan"]["g_steps"]) == (64, 1, 2)
    assert (cfg["train"]["g_lr"], cfg["train"]["d_lr"], cfg["train"]["beta_1"], cfg["train"]["beta_2"]) == (
        2e-4, 2e-4, 0.5, 0.999)
    assert cfg["conditional"]["fake_labels"] == "random" and cfg["loss"]["type"] == "bce"


def test_sngan_bn_keeps_batch_norm_beside_spectral_norm():
    model, t = _tables("sngan_bn")
    d = t["discriminator"]
    convs = [r for r in d if r["layer"] == "Conv2D"]
    assert all(r["spectral_norm"] for r in convs) and len(convs) == 5  # four convs + the 4x4 conv score head
    assert [(r["filters"], r["kernel"], r["strides"]) for r in convs[:4]] == [
        (64, (5, 5), (2, 2)), (128, (5, 5), (2, 2)), (256, (5, 5), (2, 2)), (512, (5, 5), (2, 2))]
    assert (convs[4]["filters"], convs[4]["kernel"], convs[4]["padding"], convs[4]["output"]) == (
        1, (4, 4), "valid", (1, 1, 1))
    assert [r["name"] for r in _of(d, "BatchNormalization")] == ["d_conv2_norm", "d_conv3_norm", "d_conv4_norm"]
    assert [r["filters"] for r in _of(t["generator"], "Conv2DTranspose")] == [256, 128, 64, 3]
    c = model.cfg
    assert (c["loss"]["type"], c["train"]["g_lr"], c["train"]["d_lr"]) == ("bce", 1e-4, 1e-4)
    assert c["data"]["image_size"] == 64
    assert (c["train"]["epochs"], c["gan"]["reuse_fake"]) == (10, False)  # the report's 10 epochs, fresh z for G
    # without sn_keeps_norm, spectral norm still replaces D's batch norm (the old behaviour)
    _, t2 = _tables("sngan_bn", **{"net.sn_keeps_norm": False})
    assert not _of(t2["discriminator"], "BatchNormalization")


def _trainable(m):
    from keras_gans.nets.summary import trainable_count

    return trainable_count(m)


def test_acgan_iclevr_as_drawn():
    """The report's nets exactly: its totals (PyTorch's count, i.e. Keras' trainable parameters) are G 3,822,080
    and D 2,960,408; a Linear with BN + ReLU after it, or conv biases, change them."""
    model, t = _tables("acgan_iclevr")
    g, d = t["generator"], t["discriminator"]
    _, subs = _build("acgan_iclevr")
    assert (_trainable(subs["generator"]), _trainable(subs["discriminator"])) == (3_822_080, 2_960_408)
    assert int(subs["discriminator"].count_params()) == 2_960_408  # no batch norm in the critic
    assert _row(g, "g_condition")["output"] == (124,)
    proj = _row(g, "g_project")
    assert (proj["units"], proj["params"]) == (128, 124 * 128 + 128)  # Linear(124, 128) with its bias
    after = [r["layer"] for r in g[g.index(proj) + 1: g.index(_row(g, "g_up1"))]]
    assert after == ["Reshape"]  # straight into the first ConvTranspose: no BN, no ReLU
    ct = _of(g, "Conv2DTranspose")
    assert [(r["filters"], r["kernel"], r["strides"], r["padding"], r["output"]) for r in ct] == [
        (512, (4, 4), (1, 1), "valid", (4, 4, 512)), (256, (4, 4), (2, 2), "same", (8, 8, 256)),
        (128, (4, 4), (2, 2), "same", (16, 16, 128)), (64, (4, 4), (2, 2), "same", (32, 32, 64)),
        (3, (4, 4), (2, 2), "same", (64, 64, 3))]
    assert [r["params"] for r in ct] == [128 * 512 * 16, 512 * 256 * 16, 256 * 128 * 16, 128 * 64 * 16, 64 * 3 * 16]
    assert len(_of(g, "BatchNormalization")) == 4 and g[-1]["activation"] == "tanh"
    convs = _of(d, "Conv2D")
    assert [(r["filters"], r["kernel"], r["strides"], r["output"], r["params"]) for r in convs[:4]] == [
        (64, (4, 4), (2, 2), (32, 32, 64), 3 * 64 * 16), (128, (4, 4), (2, 2), (16, 16, 128), 64 * 128 * 16),
        (256, (4, 4), (2, 2), (8, 8, 256), 128 * 256 * 16), (512, (4, 4), (2, 2), (4, 4, 512), 256 * 512 * 16)]
    assert not _of(d, "BatchNormalization") and not _of(d, "LayerNormalization") and len(_of(d, "LeakyReLU")) == 4
    score = _row(d, "d_score")
    assert (score["layer"], score["kernel"], score["padding"], score["params"]) == ("Conv2D", (4, 4), "valid", 8192)
    assert score["output"] == (1, 1, 1)
    head = _row(d, "d_labels")
    assert (head["units"], head["params"]) == (24, 8192 * 24 + 24)
    assert model.heads[0].type == "sigmoid" and model.heads[0].weight == 5.0 and model.class_loss == "mean"
    assert model.d_fake_class_loss is False  # D's class head learns from real images only, as in the report
    c = model.cfg
    assert (c["loss"]["type"], c["gan"]["gp_weight"], c["gan"]["d_steps"], c["train"]["batch_size"]) == (
        "wgan", 10.0, 5, 128)
    assert (c["train"]["g_lr"], c["train"]["beta_1"], c["train"]["beta_2"]) == (2e-4, 0.5, 0.999)


def test_acgan_iclevr_class_loss_is_the_mean_bce_times_5_on_real_images_only():
    """D's extra loss is 5 x the BCE meaned over the 24 labels of the *real* batch; the fakes' labels do not enter."""
    import tensorflow as tf

    from keras_gans.models.conditional import ConditionalGAN

    model, _ = _build("acgan_iclevr", **{"net.g_project": 8, "net.g_filters": [8, 8, 8, 8],
                                         "net.d_filters": [8, 8, 8, 8]})
    h = model.heads[0]
    rng = np.random.default_rng(0)
    logits = tf.constant(rng.normal(size=(4, 24)), tf.float32)
    y = tf.constant((rng.uniform(size=(4, 24)) < 0.1).astype("float32"))
    per = ConditionalGAN.head_loss(h, logits, y, model.class_loss).numpy()
    bce = -(y * tf.math.log_sigmoid(logits) + (1 - y) * tf.math.log_sigmoid(-logits)).numpy().mean(-1)
    np.testing.assert_allclose(per, bce, rtol=1e-4)
    assert h.weight * float(np.mean(per)) == pytest.approx(5 * float(bce.mean()), rel=1e-4)


@pytest.mark.parametrize("h", [16, 64])
def test_dcgan_mnist_width_h(h):
    """The lab's conv nets at 32 px: G 1 -> 4 -> 8 -> 16 -> 32, D 32 -> 16 -> 8 -> 4 -> 4x4 conv head."""
    _, t = _tables("dcgan_mnist", **{"net.dim": h})
    g, d = t["generator"], t["discriminator"]
    ct = _of(g, "Conv2DTranspose")
    assert [(r["filters"], r["kernel"], r["strides"], r["output"]) for r in ct] == [
        (4 * h, (4, 4), (1, 1), (4, 4, 4 * h)), (2 * h, (4, 4), (2, 2), (8, 8, 2 * h)),
        (h, (4, 4), (2, 2), (16, 16, h)), (1, (4, 4), (2, 2), (32, 32, 1))]
    convs = _of(d, "Conv2D")
    assert [(r["filters"], r["kernel"], r["output"]) for r in convs] == [
        (h, (4, 4), (16, 16, h)), (2 * h, (4, 4), (8, 8, 2 * h)), (4 * h, (4, 4), (4, 4, 4 * h)),
        (1, (4, 4), (1, 1, 1))]
    assert not _of(g, "Dense")  # z is the 1x1 map the first ConvTranspose reads


def test_dcgan_mnist28_keeps_the_earlier_28px_nets():
    _, t = _tables("dcgan_mnist28", **{"net.dim": 16})
    assert [r["output"] for r in _of(t["generator"], "Conv2DTranspose")] == [
        (4, 4, 64), (7, 7, 32), (14, 14, 16), (28, 28, 1)]
    assert [r["output"] for r in _of(t["discriminator"], "Conv2D")] == [
        (14, 14, 16), (7, 7, 32), (4, 4, 64), (1, 1, 1)]


# The lab's MLP GAN, h = hidden_dim: G Linear(z,4h)-BN-ReLU, Linear(4h,2h)-BN-ReLU, Linear(2h,h)-BN-ReLU,
# Linear(h,1024)-Tanh; D Linear(1024,h)-LReLU, Linear(h,2h)-Dropout(0.2)-LReLU, Linear(2h,4h)-Dropout(0.2)-LReLU,
# Linear(4h,1). PyTorch's parameter counts (Keras' trainable ones), computed by hand from those layers:
def _lab_mlp_counts(z, h):
    g = (z * 4 * h + 4 * h) + 2 * 4 * h + (4 * h * 2 * h + 2 * h) + 2 * 2 * h + (2 * h * h + h) + 2 * h + (h * 1024 + 1024)
    d = (1024 * h + h) + (h * 2 * h + 2 * h) + (2 * h * 4 * h + 4 * h) + (4 * h + 1)
    return g, d


@pytest.mark.parametrize("z,h", [(100, 100), (16, 16), (16, 100), (100, 16)])
def test_mlp_mnist_is_the_labs_mlp(z, h):
    _, t = _tables("mlp_mnist", **{"net.latent_dim": z, "net.mlp_hidden": h})
    g, d = t["generator"], t["discriminator"]
    assert [r["units"] for r in _of(g, "Dense")] == [4 * h, 2 * h, h, 32 * 32]  # G 400-200-100 at h = 100
    assert [r["units"] for r in _of(d, "Dense")] == [h, 2 * h, 4 * h, 1]  # D 100-200-400
    assert [r["layer"] for r in g if r["layer"] not in ("InputLayer",)] == 3 * [
        "Dense", "BatchNormalization", "ReLU"] + ["Dense", "Reshape", "Activation"]
    assert g[-1]["activation"] == "tanh" and g[-1]["output"] == (32, 32, 1)
    body = [r["layer"] for r in d if r["layer"] not in ("InputLayer", "Flatten")]
    assert body == ["Dense", "LeakyReLU", "Dense", "LeakyReLU", "Dropout", "Dense", "LeakyReLU", "Dropout", "Dense"]
    assert [r["rate"] for r in _of(d, "Dropout")] == [0.2, 0.2] and not _of(d, "BatchNormalization")
    _, subs = _build("mlp_mnist", **{"net.latent_dim": z, "net.mlp_hidden": h})
    assert (_trainable(subs["generator"]), _trainable(subs["discriminator"])) == _lab_mlp_counts(z, h)


def test_mlp_mnist_counts_at_h100_and_the_lab_schedule():
    """The numbers themselves, so a reversed MLP (G 100-200-400) cannot pass: G 245,524 and D 203,501."""
    assert _lab_mlp_counts(100, 100) == (245_524, 203_501)
    model, subs = _build("mlp_mnist")
    assert (_trainable(subs["generator"]), _trainable(subs["discriminator"])) == (245_524, 203_501)
    _, rev = _build("mlp_mnist", **{"net.mlp_hidden": None, "net.mlp_units": [100, 200, 400]})
    assert _trainable(rev["generator"]) != 245_524  # the page's old reading (G 100-200-400) is another net
    t = model.cfg["train"]
    assert (t["steps_per_epoch"] * t["epochs"], t["batch_size"], model.cfg["data"]["image_size"]) == (5000, 64, 32)


def test_vae_faces_is_the_face_studys_vae():
    """conv 64, conv 128, pool, FC 1024 + tanh, latent 512, transposed-conv decoder, lambda 1e-5, Adam 1e-4."""
    model, t = _tables("vae_faces")
    e = t["encoder"]
    assert [r["filters"] for r in _of(e, "Conv2D")] == [64, 128]
    body = [r["layer"] for r in e if r["layer"] not in ("InputLayer",)]
    assert body == ["Conv2D", "ReLU", "Conv2D", "ReLU", "MaxPooling2D", "Flatten", "Dense", "Activation",
                    "Dense", "Dense"]
    fc = _row(e, "d_fc1")
    assert fc["units"] == 1024 and _row(e, "d_fc1_act")["activation"] == "tanh"
    dense = {r["name"]: r for r in _of(e, "Dense")}
    assert dense["z_mean"]["units"] == 512 and dense["z_log_var"]["units"] == 512
    dec = t["decoder"]
    assert [r["layer"] for r in dec if r["layer"].startswith("Conv")] == ["Conv2DTranspose"] * 3
    assert dec[-1]["output"] == (64, 64, 3) and dec[-1]["activation"] == "tanh"
    c = model.cfg
    assert (c["vae"]["kl_weight"], c["train"]["g_lr"], c["vae"]["recon"]) == (1e-5, 1e-4, "mean")


def test_vae_faces_v1_keeps_the_earlier_net():
    model, t = _tables("vae_faces_v1")
    e = t["encoder"]
    convs = _of(e, "Conv2D")
    assert [(r["filters"], r["kernel"], r["strides"]) for r in convs] == [
        (32, (3, 3), (1, 1)), (64, (3, 3), (1, 1)), (128, (3, 3), (1, 1)), (256, (3, 3), (1, 1))]
    assert [r["output"] for r in _of(e, "MaxPooling2D")] == [(32, 32, 32), (16, 16, 64), (8, 8, 128), (4, 4, 256)]
    dense = {r["name"]: r for r in _of(e, "Dense")}
    assert dense["d_fc1"]["units"] == 1024 and dense["d_fc1"]["params"] == 4096 * 1024 + 1024
    assert "activation" not in dense["z_mean"]
    _, subs = _build("vae_faces_v1")
    assert {k: int(m.count_params()) for k, m in subs.items()} == {"encoder": 5_635_136, "decoder": 5_112_547}
    assert model.cfg["vae"]["kl_weight"] == 1e-5 and model.cfg["train"]["g_lr"] == 1e-3
    _, t2 = _tables("vae_faces_v1", **{"vae.tanh_mean": True})
    assert _row(t2["encoder"], "z_mean")["activation"] == "tanh"


def test_changed_presets_say_so():
    from keras_gans.config.loader import load_config

    for name, words in (("dcgan_mnist", "dcgan_mnist28"), ("vae_faces", "vae_faces_v1"),
                        ("sngan_bn", "reuse_fake"), ("acgan_iclevr", "biases")):
        with pytest.warns(UserWarning, match=words):
            load_config(name)


# ----- the new presets train ----------------------------------------------------------------------------------
def _random_batch(model, n, rng):
    import tensorflow as tf

    data = {"image": tf.constant(rng.uniform(-1, 1, (n, *model.image_shape)).astype("float32"))}
    for h in getattr(model, "heads", []):
        if h.type == "softmax":
            data[h.name] = tf.constant(rng.integers(0, h.k, n).astype("int32"))
        else:
            y = np.zeros((n, h.k), np.float32)
            for i in range(n):
                y[i, rng.choice(h.k, rng.integers(1, 4), replace=False)] = 1
            data[h.name] = tf.constant(y)
    return data


@pytest.mark.parametrize("preset,over", [
    ("acgan96", {"data.image_size": 32, "net.g_project": 16, "net.g_filters": [16, 16, 8, 8],
                 "net.d_filters": [8, 8, 8, 8, 8]}),
    ("acgan_iclevr", {"net.g_project": 16, "net.g_filters": [16, 8, 8, 8], "net.d_filters": [8, 8, 8, 16]}),
    ("dcgan_mnist", {"net.dim": 8}),
    ("mlp_mnist", {"net.mlp_hidden": 8}),
    ("sngan_bn", {"data.image_size": 32, "net.dim": 8}),
])
def test_new_presets_take_a_train_step(preset, over):
    import math

    model, _ = _build(preset, **over)
    model.compile()
    model.build_optimizers()
    steps = model.cfg["gan"]["d_steps"]
    logs = model.train_step(_random_batch(model, 4 * steps, np.random.default_rng(0)))
    assert all(math.isfinite(float(v)) for v in logs.values()), logs
    assert int(model.g_optimizer.iterations.numpy()) == model.cfg["gan"]["g_steps"]
    assert int(model.d_optimizer.iterations.numpy()) == steps


# ----- conditional keys ----------------------------------------------------------------------------------------
def test_random_fake_labels_are_drawn_not_copied():
    import tensorflow as tf

    model, _ = _build("acgan_iclevr", **{"net.g_project": 8, "net.g_filters": [16, 8, 8, 8],
                                         "net.d_filters": [8, 8, 8, 8], "conditional.fake_labels": "random"})
    rng = np.random.default_rng(1)
    data = _random_batch(model, 256, rng)
    z = model.generator_inputs(256, 10, data)
    y, y_real = z["labels"].numpy(), data["labels"].numpy()
    np.testing.assert_array_equal(y.sum(1), y_real.sum(1))  # as many objects as the real image has
    assert (y != y_real).any(axis=1).mean() > 0.9
    assert (y.sum(0) > 0).all()  # every label drawn somewhere
    np.testing.assert_array_equal(model.fake_data(z, data)["labels"].numpy(), y)
    # softmax conditions: uniform classes
    m96, _ = _build("acgan96", **{"data.image_size": 32, "net.g_project": 8, "net.g_filters": [8, 8, 8, 8],
                                  "net.d_filters": [8, 8, 8, 8, 8]})
    d96 = _random_batch(m96, 4096, rng)
    hair = m96.generator_inputs(4096, 10, d96)["hair"].numpy()
    counts = np.bincount(hair, minlength=12)
    assert counts.min() > 4096 / 12 * 0.8 and counts.max() < 4096 / 12 * 1.2
    assert (hair != d96["hair"].numpy()).mean() > 0.8
    real, _ = _build("acgan96", **{"data.image_size": 32, "net.g_project": 8, "net.g_filters": [8, 8, 8, 8],
                                   "net.d_filters": [8, 8, 8, 8, 8], "conditional.fake_labels": "real"})
    d16 = _random_batch(real, 16, rng)
    np.testing.assert_array_equal(real.generator_inputs(16, 10, d16)["hair"].numpy(), d16["hair"].numpy())
    assert isinstance(z["z"], tf.Tensor)


def test_class_loss_mean_is_sum_over_k():
    import tensorflow as tf

    from keras_gans.parts.conditioning import Head
    from keras_gans.models.conditional import ConditionalGAN

    h = Head("labels", "sigmoid", [str(i) for i in range(24)], 5.0)
    rng = np.random.default_rng(0)
    logits = tf.constant(rng.normal(size=(3, 24)), tf.float32)
    y = tf.constant((rng.uniform(size=(3, 24)) < 0.1).astype("float32"))
    mean = ConditionalGAN.head_loss(h, logits, y, "mean").numpy()
    total = ConditionalGAN.head_loss(h, logits, y, "sum").numpy()
    np.testing.assert_allclose(total, 24 * mean, rtol=1e-6)
    want = tf.reduce_mean(tf.keras.losses.binary_crossentropy(y[..., None], tf.sigmoid(logits)[..., None]), -1)
    np.testing.assert_allclose(mean, want.numpy(), rtol=1e-4)
    from keras_gans.config.loader import load_config

    assert load_config("acgan_multilabel")["conditional"]["class_loss"] == "sum"  # keeps its measured results
    assert load_config("acgan")["conditional"]["class_loss"] == "mean"


# ----- the spread of the latent noise --------------------------------------------------------------------------
def test_z_std_scales_training_and_sampling_noise():
    import tensorflow as tf

    from keras_gans.models.latent import seeds_to_latent
    from keras_gans.models.gan import GAN

    info = {"image_shape": [16, 16, 1], "n_images": 64}
    m1 = GAN.from_config(tiny_config(net={"latent_dim": 64}), info)
    m2 = GAN.from_config(tiny_config(net={"latent_dim": 64, "z_std": 0.5}), info)
    z = m2.latent_noise(512, 10).numpy()
    assert abs(z.std() - 0.5) < 0.01 and abs(z.mean()) < 0.01
    np.testing.assert_allclose(z, 0.5 * m1.latent_noise(512, 10).numpy(), rtol=1e-6)
    np.testing.assert_allclose(m2.sample_inputs(8).numpy(), 0.5 * m1.sample_inputs(8).numpy(), rtol=1e-6)
    seeds = tf.constant([3, 4, 5], tf.int64)
    np.testing.assert_allclose(seeds_to_latent(seeds, 64, 2.0).numpy(), 2 * seeds_to_latent(seeds, 64).numpy(),
                               rtol=1e-6)
    from keras_gans.config.loader import load_config
    from keras_gans.core.errors import UserError

    with pytest.raises(UserError, match="z_std"):
        load_config("dcgan", {"net.z_std": 0})


def test_sample_z_std_matches_export_and_run(tmp_path):
    """A run trained with net.z_std = 0.5: `sample --seed` on the run and on its export give the same pixels, and
    `sample --z-std` redraws the same seeds at another sigma in both."""
    from click.testing import CliRunner
    from PIL import Image

    from keras_gans.core.checkpoint import RunCheckpoint
    from keras_gans.cli import main
    from keras_gans.config.loader import save_config
    from keras_gans.export.savedmodel import export_model
    from keras_gans.training.build import build_model

    import keras

    keras.utils.set_random_seed(3)  # initial weights that do not saturate every pixel (the net is untrained)
    cfg = tiny_config(net={"z_std": 0.5, "weights_init": 0.05})
    info = {"image_shape": [16, 16, 1], "n_images": 64}
    run = tmp_path / "run"
    run.mkdir()
    save_config(cfg, run)
    (run / "data_info.json").write_text(json.dumps(info))
    model = build_model(cfg, info)
    RunCheckpoint(model, run).save(1)
    export = export_model(model, tmp_path / "exp", "tiny", 1)
    seeds = np.arange(4, dtype=np.int64) + 2 * 100000

    def grid(args):
        out = tmp_path / f"g{len(list(tmp_path.iterdir()))}.png"
        r = CliRunner().invoke(main, ["sample", *map(str, args), "--n", "4", "--seed", "2", "--nrow", "4",
                                      "--cell", "0", "--out", str(out)])
        assert r.exit_code == 0, r.output
        return np.asarray(Image.open(out))

    own = model.sample_from_seeds(seeds)
    run_grid, exp_grid = grid([run]), grid([export])
    np.testing.assert_array_equal(run_grid, exp_grid)
    wide_run, wide_exp = grid([run, "--z-std", "2.0"]), grid([export, "--z-std", "2.0"])
    np.testing.assert_array_equal(wide_run, wide_exp)
    assert np.abs(wide_run.astype(int) - run_grid.astype(int)).max() > 0
    model.z_std = 2.0
    wide = model.sample_from_seeds(seeds)
    assert not np.array_equal(wide, own)
    from keras_gans.core.images import make_grid

    np.testing.assert_array_equal(np.squeeze(make_grid(wide, nrow=4)), np.squeeze(wide_run))
    r = CliRunner().invoke(main, ["sample", str(run), "--z-std", "-1", "--out", str(tmp_path / "x.png")])
    assert r.exit_code == 2 and "--z-std" in r.output


# ----- the command -------------------------------------------------------------------------------------------
def test_nets_command_prints_tables_without_data():
    from click.testing import CliRunner

    from keras_gans.cli import main

    r = CliRunner().invoke(main, ["nets", "acgan96"])
    assert r.exit_code == 0, r.output
    for text in ("generator (2,716,547 parameters;", "discriminator (", "g_up1_upsample", "512 k3 s1 same",
                 "12x12x512", "momentum 0.75", "rate 0.5", "hair: 12 logits, softmax cross-entropy, weight 0.3"):
        assert text in r.output, text
    r = CliRunner().invoke(main, ["nets", "dcgan_mnist", "--set", "net.dim=16"])
    assert r.exit_code == 0 and "64 k4 s1 valid" in r.output and "32x32x1" in r.output
    r = CliRunner().invoke(main, ["nets", "acgan_iclevr"])
    assert r.exit_code == 0, r.output
    assert "generator (3,824,000 parameters; 3,822,080 trainable)" in r.output
    assert "discriminator (2,960,408 parameters)" in r.output and "trainable parameters: 3,822,080" in r.output
    r = CliRunner().invoke(main, ["nets", "vae_faces"])
    assert r.exit_code == 0 and "encoder (" in r.output and "decoder (" in r.output


@pytest.mark.parametrize("sets,msg", [
    (["net.d_strides=[2, 2]"], "net.d_strides lists 2 values for D's 5 conv layers"),
    (["net.g_start=5"], "G's layers give 80 px images"),
    (["net.g_upsample=bilinear"], "net.g_upsample must be"),
    (["net.bn_momentum=1.5"], "net.bn_momentum"),
])
def test_nets_command_bad_descriptions_exit_2(sets, msg):
    from click.testing import CliRunner

    from keras_gans.cli import main

    args = ["nets", "acgan96"]
    for s in sets:
        args += ["--set", s]
    r = CliRunner().invoke(main, args)
    assert r.exit_code == 2, r.output
    assert msg in r.output


# ----- the data behind the classic presets (issue 24) ----------------------------------------------------------
def _pngs(folder, n, size):
    from PIL import Image

    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    paths = []
    for i in range(n):
        p = folder / f"{i}.png"
        Image.fromarray(rng.integers(0, 255, (size, size, 3), dtype=np.uint8)).save(p)
        paths.append(str(p))
    return paths


def test_upscaling_warns_loudly_and_small_resizes_do_not(tmp_path):
    import warnings

    from keras_gans.data.images import load_images

    paths = _pngs(tmp_path / "small", 4, 16)
    with pytest.warns(UserWarning, match=r"UPSCALING: these images are 16 px .* data.image_size 24"):
        s = load_images(paths, 24, cache_dir=False)
    assert s.images.shape == (4, 24, 24, 3)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        load_images(paths, 18, cache_dir=False)  # 16 -> 18 px (like MNIST 28 -> 32): quiet
        load_images(paths, 16, cache_dir=False)


def test_acgan96_on_the_64px_anime_faces_warns_about_upscaling():
    from pathlib import Path

    from keras_gans.data.images import find_images, warn_if_upscaled

    faces = Path("../shared/data/anime-faces/images")
    if not faces.is_dir():
        pytest.skip("../shared/data/anime-faces is absent")
    with pytest.warns(UserWarning, match="UPSCALING: these images are 64 px"):
        assert warn_if_upscaled(find_images(faces), 96) == (64, 64)


def test_a_listed_class_no_row_has_is_left_out_of_the_head(tmp_path):
    """The anime faces have no gray eyes: an acgan run on them gets the data's 10 eye colours, not the list's 11."""
    from keras_gans.config.loader import load_config
    from keras_gans.data.source import load_labelled

    root = tmp_path / "faces"
    paths = _pngs(root / "images", 6, 16)
    rows = ["id,tags"] + [f"{i},{h} hair {e} eyes" for i, (h, e) in enumerate(
        [("red", "blue"), ("blonde", "green"), ("red", "yellow"), ("aqua", "blue"), ("blonde", "green"),
         ("red", "blue")])]
    (root / "tags.csv").write_text("\n".join(rows) + "\n")
    cfg = load_config("acgan", {"data.path": str(root), "data.image_size": 16, "data.cache_dir": False})
    with pytest.warns(UserWarning, match="gray"):
        s = load_labelled(cfg, progress=False)
    assert s.label_names["eyes"] == ["blue", "green", "yellow"]  # the listed order, only the classes seen
    assert s.label_names["hair"] == ["aqua", "blonde", "red"]
    assert s.labels["eyes"].tolist() == [0, 1, 2, 0, 1, 0] and len(paths) == 6
    from keras_gans.parts.conditioning import resolve

    spec = {"name": "eyes", "type": "softmax", "classes": load_config("acgan")["conditional"]["heads"][1]["classes"]}
    assert len(spec["classes"]) == 11
    arr, names = resolve(spec, s.labels["eyes"], s.label_names["eyes"], "tags.csv")
    assert names == ["blue", "green", "yellow"] and arr.tolist() == [0, 1, 2, 0, 1, 0]


def test_anime_faces_tags_give_10_eye_colours():
    from pathlib import Path

    from keras_gans.config.loader import load_config
    from keras_gans.data.labels import labels_from_tags_csv, parse_tags_csv

    tags = Path("../shared/data/anime-faces/tags.csv")
    if not tags.is_file():
        pytest.skip("../shared/data/anime-faces is absent")
    heads = {h["name"]: h["classes"] for h in load_config("acgan")["conditional"]["heads"]}
    rows, _ = parse_tags_csv(tags, ["hair", "eyes"], heads)
    ids = list(rows)[:50]
    lab = labels_from_tags_csv(tags, [f"/x/images/{i}.jpg" for i in ids], "/x", ["hair", "eyes"], heads)
    assert len(lab.names["hair"]) == 12 and len(lab.names["eyes"]) == 10 and "gray" not in lab.names["eyes"]


def test_sample_warns_for_a_class_the_training_data_lacked():
    from keras_gans.cli import _warn_unseen

    metas = [{"name": "hair", "type": "softmax", "classes": ["red", "blonde"]},
             {"name": "eyes", "type": "softmax", "classes": ["blue", "gray", "red"], "unseen": ["gray"]}]
    with pytest.warns(UserWarning, match="eyes 'gray': no training image had this class"):
        _warn_unseen(metas, {"eyes": "gray"}, (), None, None)
    with pytest.warns(UserWarning, match="--vary eyes"):
        _warn_unseen(metas, {}, (), None, "eyes")
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        _warn_unseen(metas, {"eyes": "blue", "hair": "red"}, ("hair=red",), None, "hair")
