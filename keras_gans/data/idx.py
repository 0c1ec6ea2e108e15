"""MNIST's IDX files as a data set: `--data t10k-images-idx3-ubyte.gz` (gzipped or raw), with the labels file
beside it (`t10k-labels-idx1-ubyte.gz`) read as the class labels `label` (0-9), so digit GANs, conditional models
and classifiers train on the original files without converting them to PNGs.

IDX (LeCun et al.): two zero bytes, a type byte (0x08 = unsigned byte), the number of dimensions, one big-endian
uint32 per dimension, then the values in C order.
"""

from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np

from keras_gans.core.errors import UserError

_TYPES = {0x08: np.uint8, 0x09: np.int8, 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}


def is_idx(path) -> bool:
    """A file whose name says IDX (…-idx3-ubyte, .idx3, optionally .gz)."""
    if path is None:
        return False
    p = Path(path)
    name = p.name.lower()
    return p.is_file() and ("idx1" in name or "idx3" in name or name.endswith((".idx", ".idx.gz")))


def read_idx(path) -> np.ndarray:
    """The array stored in an IDX file (gzip detected from the magic bytes, not the name)."""
    path = Path(path)
    if not path.is_file():
        raise UserError(f"IDX file not found: {path}")
    raw = path.read_bytes()
    if raw[:2] == b"\x1f\x8b":
        try:
            raw = gzip.decompress(raw)
        except (OSError, EOFError) as e:
            raise UserError(f"{path} is a damaged gzip file ({e}); download it again") from None
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] not in _TYPES:
        raise UserError(f"{path} is not an IDX file (expected the magic bytes 00 00 08 0N of MNIST's files)")
    ndim = raw[3]
    head = 4 + 4 * ndim
    shape = tuple(int.from_bytes(raw[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim))
    dtype = np.dtype(_TYPES[raw[2]])
    need = int(np.prod(shape)) * dtype.itemsize
    if len(raw) - head < need:
        raise UserError(f"{path} is truncated: its header announces {shape} ({need} bytes), the file holds {len(raw) - head}")
    return np.frombuffer(raw, dtype, count=int(np.prod(shape)), offset=head).reshape(shape)


def labels_path(images_path) -> Path | None:
    """The labels file beside an images file: images-idx3 -> labels-idx1 (same folder, same compression)."""
    p = Path(images_path)
    name = p.name.replace("images", "labels").replace("idx3", "idx1")
    cands = [p.with_name(name)]
    cands += [c.with_name(c.name[:-3]) for c in cands if c.name.endswith(".gz")] + [c.with_name(c.name + ".gz") for c in cands]
    return next((c for c in cands if c.is_file() and c != p), None)


def load_idx(path, size: int, channels: int | None = None, max_images: int | None = None, resize: str = "crop"):
    """An ImageSet of the IDX images at size x size (uint8, 1 channel unless channels=3), with labels {'label'}
    from the labels file beside it when there is one."""
    from PIL import Image

    from keras_gans.data.images import ImageSet, resize_image

    arr = read_idx(path)
    if arr.ndim == 2:
        raise UserError(f"{path} holds labels (1-d), not images; pass the images file (…-images-idx3-ubyte.gz)")
    if arr.ndim not in (3, 4):
        raise UserError(f"{path} holds a {arr.ndim}-d array; images are [n, rows, cols] (or [n, rows, cols, channels])")
    n = len(arr) if not max_images else min(len(arr), int(max_images))
    arr = np.asarray(arr[:n], np.uint8)
    if arr.shape[1:3] != (size, size):
        arr = np.stack([np.asarray(resize_image(Image.fromarray(a if a.ndim == 2 else a[..., 0] if a.shape[-1] == 1 else a),
                                                size, resize)) for a in arr])
    if arr.ndim == 3:
        arr = arr[..., None]
    if channels == 3 and arr.shape[-1] == 1:
        arr = np.repeat(arr, 3, axis=-1)
    elif channels == 1 and arr.shape[-1] == 3:
        arr = np.round(arr @ np.array([0.299, 0.587, 0.114])).astype(np.uint8)[..., None]
    paths = [f"{Path(path).name}/{i:05d}" for i in range(n)]
    s = ImageSet(arr, paths)
    s.label_names = {}
    lp = labels_path(path)
    if lp is not None:
        y = read_idx(lp)
        if y.ndim != 1 or len(y) < n:
            raise UserError(f"{lp} holds {y.shape} labels for {len(read_idx(path))} images in {path}")
        y = np.asarray(y[:n], np.int32)
        s.labels = {"label": y}
        s.label_names = {"label": [str(i) for i in range(int(y.max()) + 1)]}
    return s
