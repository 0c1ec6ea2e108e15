"""Feature extractors: the Inception path (weights absent -> one clear error; random weights end to end) and the
project's own domain classifier trained on real digits."""

from __future__ import annotations

import json

import numpy as np
import pytest
from click.testing import CliRunner

from keras_gans.core.errors import UserError


def test_inception_weights_absent_is_one_clear_error(tmp_path, monkeypatch):
    from keras_gans.metrics.features import get_extractor

    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras"))
    monkeypatch.delenv("KERAS_GANS_INCEPTION_WEIGHTS", raising=False)
    with pytest.raises(UserError) as e:
        get_extractor("inception")
    msg = str(e.value)
    assert "\n" not in msg and "not found" in msg and "inception_v3_weights" in msg and "--features" in msg
    with pytest.raises(UserError, match="not found"):
        get_extractor(str(tmp_path / "missing.h5"))
    with pytest.raises(UserError, match="train-classifier"):
        get_extractor(str(tmp_path / "missing.keras"))

    from keras_gans.cli import main

    r = CliRunner().invoke(main, ["evaluate", str(tmp_path), "--data", str(tmp_path), "--features", "inception"])
    assert r.exit_code == 2
    lines = [line for line in r.output.strip().splitlines() if line]
    assert len(lines) == 1 and lines[0].startswith("error: InceptionV3 ImageNet weights not found")


def test_inception_random_weights_end_to_end():
    from keras_gans.metrics.features import InceptionFeatures
    from keras_gans.metrics.report import compute_metrics

    ext = InceptionFeatures(weights=None)
    rng = np.random.default_rng(0)
    # grayscale and small (converted to 3 channels and resized to 299); few images: InceptionV3 is costly on a CPU
    real = rng.integers(0, 256, size=(3, 16, 16, 1), dtype=np.uint8)
    fake = rng.integers(0, 128, size=(3, 16, 16, 1), dtype=np.uint8)
    f, p = ext.extract(real)
    assert f.shape == (3, 2048) and p is None and np.all(np.isfinite(f))
    res, notes = compute_metrics(ext, real, fake, None, ["fid", "kid", "pr", "is"], kid_subsets=3)
    # 3 images in 2048 dimensions: FID is not defined there (said, not a number); KID is
    assert res["fid"] is None and "not defined at n=3 <= 2048" in res["fid_undefined"]
    assert np.isfinite(res["kid"]["mean"]) and 0 <= res["pr"]["precision"] <= 1
    assert any(n.startswith("is skipped") for n in notes)


def test_inception_resize_is_antialiased_bicubic():
    from keras_gans.metrics.features import resize_images

    x = np.zeros((1, 8, 8, 3), np.float32)
    x[:, :, 4:] = 255.0
    y = resize_images(x, 299).numpy()
    assert y.shape == (1, 299, 299, 3) and y.min() >= 0 and y.max() <= 255
    assert 0 < y[0, 150, 148, 0] < 255  # an edge is interpolated, not copied


def test_classifier_trains_on_real_digits(digit_classifier):
    out, meta = digit_classifier
    assert out.is_file() and meta["classes"] == [str(i) for i in range(10)]
    assert meta["n_train"] + meta["n_test"] == 1000
    assert meta["test_accuracy"] > 0.6, meta
    assert json.loads(out.with_suffix(".json").read_text())["test_accuracy"] == meta["test_accuracy"]


def test_classifier_features_and_predictions(digit_classifier, digits_dir):
    from keras_gans.data.images import find_images, load_images
    from keras_gans.metrics.features import get_extractor
    from keras_gans.metrics.fid import fid_from_features

    out, _ = digit_classifier
    ext = get_extractor(str(out))
    assert ext.name == "classifier" and ext.dim == 128 and ext.num_classes == 10
    data = digits_dir
    paths = find_images(data)[::6]  # 300 real digits across all classes
    real = load_images(paths, 32, 1).images  # 32 px in: resized to the classifier's 16 px
    f, p = ext.extract(real)
    assert f.shape == (len(real), 128) and p.shape == (len(real), 10)
    np.testing.assert_allclose(p.sum(1), 1.0, rtol=1e-4)
    noise = np.random.default_rng(0).integers(0, 256, size=real.shape, dtype=np.uint8)
    half_a, half_b = f[0::2], f[1::2]
    assert fid_from_features(half_a, half_b) < 0.2 * fid_from_features(f, ext.features(noise))
