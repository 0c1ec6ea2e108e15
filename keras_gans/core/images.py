"""Image utilities shared by callbacks and commands: the one pixel-scaling pair (uint8 <-> [-1, 1]), grids, PNGs.

Every conversion between stored pixels and what the nets see goes through `from_uint8` / `to_uint8` (NumPy) or
`to_uint8_tensor` (inside TensorFlow graphs: the exports); they round the same way, so a grid written in Python
and an image from the export are pixel-equal."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from keras_gans.core.io_utils import encode_image, save_image


SCALE = 127.5  # uint8 v <-> float x: x = v / SCALE - 1, v = round((x + 1) * SCALE)


def from_uint8(images):
    """uint8 [0, 255] -> float32 [-1, 1]: NumPy in, NumPy out; a TensorFlow tensor in, a tensor out."""
    if isinstance(images, (np.ndarray, list, tuple)):
        return np.asarray(images).astype(np.float32) / SCALE - 1.0
    import tensorflow as tf

    return tf.cast(images, tf.float32) / SCALE - 1.0


def to_uint8(images) -> np.ndarray:
    """[-1, 1] floats -> uint8 [0, 255] (the same rounding as the exported signatures)."""
    x = np.nan_to_num(np.asarray(images, dtype=np.float32), nan=-1.0)  # a diverged G draws black, not noise
    return np.clip(np.round((x + 1.0) * SCALE), 0, 255).astype(np.uint8)


def to_uint8_tensor(images):
    """to_uint8 inside a TensorFlow graph (the export signatures): round once, then clip to [0, 255]."""
    import tensorflow as tf

    x = tf.round((tf.cast(images, tf.float32) + 1.0) * SCALE)
    return tf.cast(tf.clip_by_value(x, 0.0, 255.0), tf.uint8)


def resize_uint8(images, size: int) -> np.ndarray:
    """uint8 [N, H, W, C] -> uint8 [N, size, size, C] (antialiased bilinear, rounded once); untouched at that size."""
    images = np.asarray(images)
    if images.shape[1:3] == (size, size):
        return images
    import tensorflow as tf

    x = tf.image.resize(tf.cast(images, tf.float32), (size, size), antialias=True)
    return tf.cast(tf.clip_by_value(tf.round(x), 0.0, 255.0), tf.uint8).numpy()


READABLE_CELL = 64  # sample grids: cells smaller than this are enlarged to at least it (callbacks.grid_cell, --cell)


def cell_scale(h: int, w: int, min_cell: int) -> int:
    """The whole factor that brings an h x w image to >= min_cell px on its shorter side (1: already big enough,
    or min_cell 0 = raw size)."""
    return max(1, math.ceil(min_cell / min(h, w))) if min_cell and min(h, w) < min_cell else 1


def make_grid(images: np.ndarray, nrow: int | None = None, pad: int = 2, pad_value: int = 255,
              min_cell: int = 0) -> np.ndarray:
    """Tile uint8 images [N, H, W, C] into one image; nrow images per row (square by default). With min_cell, images
    smaller than min_cell px are enlarged by a whole factor, nearest neighbour (every pixel a crisp k x k block:
    nothing is invented), while the separators stay `pad` px thin; 0 keeps the raw size."""
    images = np.asarray(images)
    if images.dtype != np.uint8:
        images = to_uint8(images)
    k = cell_scale(images.shape[1], images.shape[2], min_cell) if images.ndim == 4 and len(images) else 1
    if k > 1:
        images = np.repeat(np.repeat(images, k, axis=1), k, axis=2)
    n, h, w, c = images.shape
    ncol = nrow or int(math.ceil(math.sqrt(n)))
    nrows = int(math.ceil(n / ncol))
    grid = np.full((nrows * (h + pad) + pad, ncol * (w + pad) + pad, c), pad_value, dtype=np.uint8)
    for i in range(n):
        r, col = divmod(i, ncol)
        y, x = pad + r * (h + pad), pad + col * (w + pad)
        grid[y : y + h, x : x + w] = images[i]
    return grid


def encode_png(image: np.ndarray) -> bytes:
    return bytes(encode_image(np.asarray(image), "PNG"))


def save_png(path: str | Path, image: np.ndarray) -> Path:
    """An image through the one image writer (io_utils.save_image): PNG for the run's own .png grids; a user's
    --out name chooses its format by the extension (.jpg writes a JPEG, never PNG bytes under a .jpg name)."""
    return save_image(path, np.asarray(image))


def save_grid(path: str | Path, images, nrow: int | None = None, quality: int = 95,
              min_cell: int = READABLE_CELL) -> Path:
    """A grid of images, cells enlarged to >= min_cell px (0 = raw size), in the format path's extension names
    (png, jpg/jpeg, webp), through io_utils.save_image."""
    return save_image(path, make_grid(images, nrow=nrow, min_cell=min_cell), quality=quality)
