"""The data layer: decoding any image a user brings (data.resize modes, MNIST IDX files), the one entry point by
data kind, the step plan, and a deterministic, resumable tf.data stream."""

from __future__ import annotations

import gzip
import struct

import numpy as np
import pytest
from PIL import Image

from tests.conftest import shared_data



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
    """images per step = batch x the largest d_steps (gan.schedule included); steps/epoch = n // that, >= 1."""
    from conftest import tiny_config
    from keras_gans.data.plan import step_plan
    from keras_gans.models.gan import GAN

    cfg = tiny_config(train={"steps_per_epoch": 0, "batch_size": 16}, gan={"d_steps": 2})
    p = step_plan(cfg, 100, GAN.real_batches_per_step(cfg))  # the family says how many real batches a step takes
    assert (p.images_per_step, p.steps_per_epoch, p.d_slices) == (32, 3, 2)
    assert step_plan(cfg, 5, 2).steps_per_epoch == 1
    assert step_plan(cfg, 100).d_slices == 1  # a family with one D update (or none) per step
    cfg["gan"]["schedule"] = [{"step": 10, "d_steps": 5}]
    assert GAN.real_batches_per_step(cfg) == 5 and step_plan(cfg, 400, 5).images_per_step == 80
    cfg["train"]["steps_per_epoch"] = 7
    assert step_plan(cfg, 400, 5).steps_per_epoch == 7


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
    from keras_gans.config.loader import load_config
    from keras_gans.core.errors import UserError
    from keras_gans.data.source import load_image_set

    _wide(tmp_path)
    cfg = load_config("dcgan", {"data.path": str(tmp_path), "data.image_size": 16, "data.resize": "squash"})
    img = load_image_set(cfg, progress=False).images[0]
    assert (img[:, 1] == [255, 0, 0]).all()
    with pytest.raises(UserError, match="data.resize"):
        load_config("dcgan", {"data.resize": "stretch"})


def test_idx_files_round_trip(tmp_path):
    from keras_gans.data.idx import load_idx, read_idx
    from keras_gans.core.errors import UserError

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
    from keras_gans.config.loader import load_config
    from keras_gans.training.driver import prepare

    f = shared_data("mnist") / "t10k-images-idx3-ubyte.gz"
    cfg = load_config("acgan_digits", {"data.path": str(f), "data.image_size": 28, "data.max_images": 200})
    _, arrays, info = prepare(cfg)
    assert arrays["image"].shape == (200, 28, 28, 1) and arrays["label"][:5].tolist() == [7, 2, 1, 0, 4]
    assert info["conditions"][0]["classes"] == [str(i) for i in range(10)]


def _wide(tmp_path):
    """40x20: red left quarter, blue right quarter, white middle."""
    a = np.full((20, 40, 3), 255, np.uint8)
    a[:, :10] = (255, 0, 0)
    a[:, 30:] = (0, 0, 255)
    p = tmp_path / "wide.png"
    Image.fromarray(a).save(p)
    return p


def _write_idx(path, arr, gz=True):
    head = struct.pack(">BBBB", 0, 0, 8, arr.ndim) + b"".join(struct.pack(">I", d) for d in arr.shape)
    data = head + arr.astype(np.uint8).tobytes()
    path.write_bytes(gzip.compress(data) if gz else data)


def test_data_make_digits_writes_class_folders(tmp_path, digits_dir):
    """`data make digits`: the built-in set as ROOT/CLASS/NNNN.png, the layout train-classifier and --data read."""
    from conftest import assert_user_error, run_cli

    res = run_cli("data", "make", "digits", "--out", tmp_path / "d", "--n", 30, "--size", 8)
    assert res.exit_code == 0, res.output
    files = sorted((tmp_path / "d").rglob("*.png"))
    assert len(files) == 30 and {f.parent.name for f in files} <= set("0123456789")
    assert np.asarray(Image.open(files[0])).shape == (8, 8)
    assert_user_error(run_cli("data", "make", "digits", "--out", tmp_path / "d"), "already holds files")
    assert len(list(digits_dir.rglob("*.png"))) == 1797  # the session fixture: the whole UCI set at 32 px


def test_resize_uint8_keeps_flat_regions_and_skips_same_size():
    """The one uint8 resize the graders use: a flat image stays exactly flat (rounded once), a left/right split keeps
    its halves, and an image already at the size is returned as is."""
    import numpy as np

    from keras_gans.core.images import resize_uint8

    x = np.zeros((1, 16, 16, 3), np.uint8)
    x[:, :, 8:] = 200
    y = resize_uint8(x, 8)
    assert y.shape == (1, 8, 8, 3) and y.dtype == np.uint8
    assert (y[:, :, :3] == 0).all() and (y[:, :, 5:] == 200).all()
    assert resize_uint8(y, 8) is y


def test_stream_keeps_glibc_adaptive_mmap_threshold():
    """The training stream must not hold a GeneratorDataset: TensorFlow's kernel for it calls
    mallopt(M_MMAP_THRESHOLD, 128 KiB) for the whole process, and every large buffer of the train step is then
    mmap'd and faulted in again each step (issue 23: ~48,000 page faults per DCGAN step, 20 % system time).
    Unpaired keys keep their own permutations, and the batches are the index plan's, in order."""
    import tensorflow as tf
    from tensorflow.core.framework import graph_pb2

    from keras_gans.data.pipeline import epoch_batches, make_train_dataset

    a = np.arange(30 * 2 * 2 * 3, dtype=np.uint8).reshape(30, 2, 2, 3)
    b = np.arange(20 * 2 * 2 * 3, dtype=np.uint8).reshape(20, 2, 2, 3)[::-1].copy()
    ds = make_train_dataset({"A": a, "B": b}, 4, 5, seed=7, start_epoch=1, image_keys=("A", "B"))
    graph = graph_pb2.GraphDef.FromString(ds._as_serialized_graph().numpy())
    ops = {n.op for n in graph.node} | {n.op for f in graph.library.function for n in f.node_def}
    assert not any("Generator" in op for op in ops), sorted(ops)
    got = [x for _, x in zip(range(7), ds)]  # crosses into epoch 2 after 5 batches
    for i, x in enumerate(got):
        epoch, s = 1 + i // 5, i % 5
        for j, (k, arr) in enumerate(sorted({"A": a, "B": b}.items())):
            idx = epoch_batches(len(arr), 4, 5, 7 + 7919 * j, epoch)[s]
            np.testing.assert_allclose(x[k].numpy(), arr[idx].astype(np.float32) / 127.5 - 1.0, atol=1e-6)
            assert x[k].shape == (4, 2, 2, 3) and x[k].dtype == tf.float32
