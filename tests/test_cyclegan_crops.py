"""Train at the prints' scale, infer at the photo's (issue 22): print interiors without their paper margin, random
crops of images stored at cyclegan.load_size, the working size G runs at in `transfer` and the export, and the
resize-convolution generator."""

from __future__ import annotations

import copy

import numpy as np
import pytest
from PIL import Image

from conftest import cycle_config

WHITE = 245  # a paper margin pixel: every channel at least this


def print_with_margin(w, h, seed, frac=0.08):
    """A print-like picture (dark red with noise) on a white paper margin of `frac` of each side."""
    rng = np.random.default_rng(seed)
    a = np.full((h, w, 3), 255, np.uint8)
    dy, dx = round(frac * h), round(frac * w)
    a[dy:h - dy, dx:w - dx] = np.clip(rng.normal([150, 40, 40], 20, (h - 2 * dy, w - 2 * dx, 3)), 0, 200)
    return a


def white_share(images):
    return float((np.asarray(images).min(-1) >= WHITE).mean())


def test_interior_cuts_the_margin_off():
    from keras_gans.data.images import interior

    img = Image.fromarray(print_with_margin(120, 85, 0))
    inner = interior(img, 0.1)
    assert inner.size == (96, 69)  # 12 and 8 px (round(8.5) = 8) off each side
    assert white_share(np.asarray(inner)) == 0.0
    assert white_share(np.asarray(img)) > 0.1
    assert interior(img, 0.0) is img
    from keras_gans.core.errors import UserError

    with pytest.raises(UserError, match="margin"):
        interior(img, 0.5)


@pytest.fixture()
def margin_folder(tmp_path):
    """trainA/testA: prints with paper margins, in both orientations; trainB/testB: photos with a white frame."""
    for sub, n in (("trainA", 6), ("testA", 2)):
        (tmp_path / sub).mkdir()
        for i in range(n):
            w, h = (120, 85) if i % 2 else (78, 120)
            Image.fromarray(print_with_margin(w, h, i)).save(tmp_path / sub / f"p{i}.png")
    for sub, n in (("trainB", 6), ("testB", 2)):
        (tmp_path / sub).mkdir()
        for i in range(n):
            Image.fromarray(print_with_margin(256, 256, 100 + i, 0.05)).save(tmp_path / sub / f"q{i}.png")
    return tmp_path


def test_style_side_is_stored_as_its_interior_at_load_size(margin_folder, tmp_path):
    from keras_gans.data.source import load_domains
    from keras_gans.models import family_class

    cfg = cycle_config(load_size=48, style_margin=0.1, photo_domain="B")
    cfg["data"].update({"path": str(margin_folder), "cache_dir": str(tmp_path / "cache")})
    d = load_domains(cfg, progress=False, options=family_class(cfg["model"]).data_options(cfg))
    assert d.a.shape == (6, 48, 48, 3) and d.b.shape == (6, 48, 48, 3)
    assert white_share(d.a) == 0.0 and white_share(d.test_a) == 0.0  # no margin pixel in any print
    assert white_share(d.b) > 0.05  # the photos are not cut: their own frame stays
    cfg["cyclegan"]["style_margin"] = 0.0  # the same folder without the interior: the margins are there
    assert white_share(load_domains(cfg, progress=False, options=family_class(cfg["model"]).data_options(cfg)).a) > 0.05


def test_random_crops_exact_and_every_offset_reachable():
    import tensorflow as tf

    from keras_gans.data.crops import random_crops

    x = np.arange(3 * 10 * 12 * 2, dtype=np.float32).reshape(3, 10, 12, 2)
    u = np.linspace(0, 0.9999, 300).astype(np.float32)
    seen_y, seen_x = set(), set()
    for k in range(100):
        uy, ux = u[3 * k:3 * k + 3], u[::-1][3 * k:3 * k + 3]
        out = random_crops(tf.constant(x), 4, tf.constant(uy), tf.constant(ux)).numpy()
        assert out.shape == (3, 4, 4, 2)
        for i in range(3):
            oy, ox = min(int(uy[i] * 7), 6), min(int(ux[i] * 9), 8)
            np.testing.assert_array_equal(out[i], x[i, oy:oy + 4, ox:ox + 4])
            seen_y.add(oy)
            seen_x.add(ox)
    assert seen_y == set(range(7)) and seen_x == set(range(9))  # every crop position, none outside


def test_training_crops_of_prints_hold_no_margin(margin_folder, tmp_path):
    """The model's step crops (image_size from load_size) from the stored interiors: never a paper pixel, and
    different crops on different steps."""
    import tensorflow as tf

    from keras_gans.core.images import from_uint8, to_uint8
    from keras_gans.training.build import build_model
    from keras_gans.training.driver import prepare

    cfg = cycle_config(load_size=48, style_margin=0.1, photo_domain="B")
    cfg["data"].update({"path": str(margin_folder), "cache_dir": str(tmp_path / "cache"), "image_size": 24})
    _, arrays, info = prepare(cfg)
    assert info["image_shape"] == [24, 24, 3] and info["load_size"] == 48
    model = build_model(cfg, info)
    batch = tf.constant(from_uint8(arrays["a"]))
    crops = []
    for step in range(5):
        c = to_uint8(model.crops(batch, 201 + step).numpy())
        assert c.shape == (6, 24, 24, 3)
        assert white_share(c) == 0.0
        crops.append(c)
    assert any(not np.array_equal(crops[0], c) for c in crops[1:])


def test_work_size_defaults_to_load_size():
    from keras_gans.models.cyclegan_config import work_size

    assert work_size(cycle_config()) == 16  # no load_size: the training size, as before
    assert work_size(cycle_config(load_size=48)) == 48
    assert work_size(cycle_config(load_size=48, work_size=64)) == 64


def test_config_rejects_bad_sizes_and_margins():
    from keras_gans.core.errors import UserError

    with pytest.raises(UserError, match="load_size"):
        cycle_config(load_size=8)  # smaller than data.image_size (16)
    with pytest.raises(UserError, match="work_size"):
        cycle_config(work_size=130)
    with pytest.raises(UserError, match="style_margin"):
        cycle_config(style_margin=0.5)


def test_transfer_runs_g_at_the_working_size_and_returns_the_input_size():
    from keras_gans.parts.translate import transfer_images

    seen = []

    def g(x, training=False):
        seen.append(tuple(x.shape))
        return x

    img = np.random.default_rng(0).integers(0, 256, (1, 256, 200, 3), dtype=np.uint8)
    out = transfer_images(g, img, 128).numpy()
    assert seen == [(1, 164, 128, 3)]  # shorter side 128, aspect kept, multiples of 4
    assert out.shape == img.shape
    transfer_images(g, img[:, :64, :48], 128)
    assert seen[-1] == (1, 172, 128, 3)  # a small input is brought up to the working size too


def test_model_transfer_and_export_use_the_work_size(monkeypatch):
    from keras_gans.models import translator  # the translator families' shared transfer (models/translator.py)
    from keras_gans.training.build import build_model
    from keras_gans.training.driver import prepare

    cfg = cycle_config(load_size=24, work_size=32)
    _, arrays, info = prepare(copy.deepcopy(cfg))
    model = build_model(cfg, info)
    assert model.work_size == 32 and tuple(model.image_shape) == (16, 16, 3)
    out = model.transfer(np.zeros((1, 40, 60, 3), np.uint8), "a2b")
    assert out.shape == (1, 40, 60, 3)
    sizes = []
    real = translator.transfer_images
    monkeypatch.setattr(translator, "transfer_images", lambda g, x, size: sizes.append(size) or real(g, x, size))
    model.transfer(np.zeros((1, 40, 60, 3), np.uint8), "a2b")
    model.transfer(np.zeros((1, 40, 60, 3), np.uint8), "a2b", work_size=48)
    assert sizes == [32, 48]


@pytest.mark.parametrize("upsample", ["transpose", "resize"])
def test_generator_upsampling_kinds(upsample):
    from keras import layers

    from keras_gans.nets.resnet import build_resnet_generator

    g = build_resnet_generator((16, 16, 3), filters=4, n_blocks=1, upsample=upsample)
    kinds = {type(layer) for layer in g.layers}
    assert (layers.Conv2DTranspose in kinds) == (upsample == "transpose")
    assert (layers.UpSampling2D in kinds) == (upsample == "resize")
    assert g(np.zeros((1, 36, 44, 3), np.float32)).shape == (1, 36, 44, 3)


def test_unknown_upsampling_is_an_error():
    from keras_gans.core.errors import UserError
    from keras_gans.nets.resnet import build_resnet_generator

    with pytest.raises(ValueError, match="upsample"):
        build_resnet_generator((16, 16, 3), filters=4, n_blocks=1, upsample="pixelshuffle")
    with pytest.raises(UserError, match="upsample"):
        cycle_config(upsample="pixelshuffle")
