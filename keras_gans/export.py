"""SavedModel exports in the layout TF Serving loads: saved_models/NAME/VERSION/ (saved_model.pb + variables/).

Built with Keras 3's `keras.export.ExportArchive`, which keeps our input names and dtypes and lets each family
declare named signatures (`serving_default`, `generate`, ...) with named outputs (`images`, `image_bytes`).
The folder is written under a temporary name and renamed, so TF Serving never sees half an export.
"""

from __future__ import annotations

from pathlib import Path

import keras
import tensorflow as tf

from keras_gans.errors import UserError
from keras_gans.io_utils import atomic_dir


def to_uint8(images):
    """[-1, 1] float -> uint8 with the same rounding as keras_gans.images.to_uint8."""
    x = tf.round((tf.cast(images, tf.float32) + 1.0) * 127.5)
    return tf.cast(tf.clip_by_value(x, 0.0, 255.0), tf.uint8)


def to_png(images_u8):
    """uint8 [batch, H, W, C] -> PNG bytes [batch] (TF Serving's REST API returns them base64-encoded)."""
    return tf.map_fn(tf.io.encode_png, images_u8, fn_output_signature=tf.TensorSpec([], tf.string))


def next_version(base: Path) -> int:
    versions = [int(p.name) for p in base.glob("*") if p.is_dir() and p.name.isdigit()]
    return max(versions, default=0) + 1


def export_model(model, out_dir: str | Path = "saved_models", name: str | None = None, version: int | None = None) -> Path:
    """Write model's signatures to out_dir/name/version and return that path."""
    name = name or model.cfg["name"]
    base = Path(out_dir) / name
    version = int(version) if version is not None else next_version(base)
    if version < 1:
        raise UserError(f"export version must be a positive integer, got {version}")
    path = base / str(version)
    archive = keras.export.ExportArchive()
    model.export_endpoints(archive, to_uint8, to_png)
    with atomic_dir(path) as tmp:
        archive.write_out(str(tmp), verbose=False)
    return path


def load_export(path: str | Path):
    path = Path(path)
    if not (path / "saved_model.pb").is_file():
        versions = sorted((int(p.name) for p in path.glob("*") if p.is_dir() and p.name.isdigit()), reverse=True)
        if versions and (path / str(versions[0]) / "saved_model.pb").is_file():
            path = path / str(versions[0])
        else:
            raise UserError(f"{path} is not a SavedModel export (no saved_model.pb)")
    return tf.saved_model.load(str(path))
