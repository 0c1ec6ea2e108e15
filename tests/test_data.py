"""The data layer: decoding any image a user brings, and a deterministic, resumable tf.data stream."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image



def test_real_folder_shapes_range_and_cache(tmp_path, digits_dir):
    from keras_gans.data.images import find_images, load_images
    from keras_gans.data.pipeline import make_train_dataset

    root = digits_dir
    paths = find_images(root)
    assert len(paths) == 1797
    s = load_images(paths[:200], 28, cache_dir=tmp_path / "c")
    assert s.images.shape == (200, 28, 28, 1) and s.images.dtype == np.uint8
    assert s.images.max() > 200 and s.images.min() < 30
    again = load_images(paths[:200], 28, cache_dir=tmp_path / "c")  # from the cache
    np.testing.assert_array_equal(s.images, again.images)
    assert len(list((tmp_path / "c").glob("*.npz"))) == 1
    ds = make_train_dataset({"image": s.images}, 32, 6, seed=1)
    batch = next(iter(ds))["image"].numpy()
    assert batch.shape == (32, 28, 28, 1) and batch.dtype == np.float32
    assert -1.0 <= batch.min() < -0.9 and 0.9 < batch.max() <= 1.0


def test_colour_resize_and_centre_crop(tmp_path):
    from keras_gans.data.images import find_images, load_images

    img = np.zeros((40, 80, 3), np.uint8)
    img[:, 20:60] = (255, 0, 0)  # the centre 40x40 is red, the sides black
    Image.fromarray(img).save(tmp_path / "wide.jpg", quality=95)
    (tmp_path / "sub").mkdir()
    Image.fromarray(img).save(tmp_path / "sub" / "wide.webp")
    s = load_images(find_images(tmp_path), 16, cache_dir=False)
    assert s.images.shape == (2, 16, 16, 3)
    centre = s.images[:, 2:14, 2:14].reshape(-1, 3).mean(0)
    assert centre[0] > 230 and centre[1] < 30 and centre[2] < 30  # the crop kept the red centre


def test_stream_is_deterministic_and_resumable():
    from keras_gans.data.pipeline import make_train_dataset

    images = np.arange(40, dtype=np.uint8).reshape(40, 1, 1, 1)

    def first_values(start_epoch, n):
        ds = iter(make_train_dataset({"image": images}, 10, 4, seed=3, start_epoch=start_epoch))
        return [np.round((next(ds)["image"].numpy().ravel() + 1) * 127.5).astype(int) for _ in range(n)]

    full = first_values(0, 8)  # epochs 0 and 1
    resumed = first_values(1, 4)  # starting at epoch 1
    for a, b in zip(full[4:], resumed):
        np.testing.assert_array_equal(a, b)
    epoch0 = np.sort(np.concatenate(full[:4]))
    np.testing.assert_array_equal(epoch0, np.arange(40))  # every image once per epoch
    assert not np.array_equal(np.concatenate(full[:4]), np.concatenate(full[4:]))  # reshuffled each epoch


def test_builtin_digits_default():
    from keras_gans.data.builtin import load_builtin

    s = load_builtin("digits", 32)
    assert s.images.shape == (1797, 32, 32, 1)
    assert sorted(set(s.labels["label"].tolist())) == list(range(10))


def test_step_plan_is_the_one_rule():
    """images per step = batch x the largest d_steps (train.schedule included); steps/epoch = n // that, >= 1."""
    from conftest import tiny_config
    from keras_gans.data.plan import step_plan
    from keras_gans.models.schedule import max_d_steps

    cfg = tiny_config(train={"steps_per_epoch": 0, "d_steps": 2, "batch_size": 16})
    p = step_plan(cfg, 100)
    assert (p.images_per_step, p.steps_per_epoch, p.d_slices) == (32, 3, 2)
    assert step_plan(cfg, 5).steps_per_epoch == 1
    cfg["train"]["schedule"] = [{"step": 10, "d_steps": 5}]
    assert step_plan(cfg, 400).images_per_step == 80 and max_d_steps(cfg) == 5  # the model reads the same rule
    cfg["train"]["steps_per_epoch"] = 7
    assert step_plan(cfg, 400).steps_per_epoch == 7


def test_entry_point_by_data_kind(tmp_path):
    """Each family declares what it trains on; the data layer hands it that (labels read, unlabelled dropped)."""
    from conftest import tiny_config
    from keras_gans.data.source import Domains, load_training_data
    from keras_gans.models import family_class

    assert [family_class(m).data_kind for m in ("gan", "cgan", "vae", "cyclegan")] == \
        ["images", "labelled", "images", "domains"]
    for i, cls in enumerate(("a", "b")):  # a labelled folder: one class sub-folder each
        (tmp_path / cls).mkdir()
        for j in range(3):
            Image.fromarray(np.full((8, 8, 3), 40 * (i + j), np.uint8)).save(tmp_path / cls / f"{j}.png")
    heads = {"heads": [{"name": "label", "type": "softmax"}]}
    cfg = tiny_config(model="cgan", data={"path": str(tmp_path)}, conditional=heads)
    s = load_training_data(cfg, "labelled", progress=False)
    assert s.images.shape == (6, 16, 16, 3) and s.label_names == {"label": ["a", "b"]}
    assert s.labels["label"].tolist() == [0, 0, 0, 1, 1, 1] and "class folders" in s.label_source
    digits = load_training_data(tiny_config(model="cgan", conditional=heads), "labelled", progress=False)
    assert len(digits.labels["label"]) == len(digits.images) and digits.label_source == "the built-in data"
    with pytest.raises(Exception, match="unknown data kind"):
        load_training_data(cfg, "pairs")
    assert Domains.__module__ == "keras_gans.data.source"


def test_holdout_split_and_reference_subset(tmp_path):
    from keras_gans.data.source import holdout_split, reference_images

    tr, ho = holdout_split(100, 0.1, seed=3)
    assert len(ho) == 10 and len(tr) == 90 and not set(tr) & set(ho)
    assert np.array_equal(holdout_split(100, 0.1, seed=3)[1], ho)  # fixed by the seed
    assert len(holdout_split(10, 4, seed=0)[1]) == 4 and len(holdout_split(3, 10, seed=0)[0]) == 1  # keeps >= 1
    for j in range(5):
        Image.fromarray(np.full((8, 8), 50 * j, np.uint8)).save(tmp_path / f"{j}.png")
    a = reference_images(tmp_path, 8, 1, n=3, seed=1, progress=False)
    assert a.shape == (3, 8, 8, 1)
    assert np.array_equal(a, reference_images(tmp_path, 8, 1, n=3, seed=1, progress=False))
    assert reference_images(tmp_path, 8, 1, n=10, progress=False).shape == (5, 8, 8, 1)
