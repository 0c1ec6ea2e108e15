"""Random square crops inside the training graph: CycleGAN trains on crops of images stored larger
(`cyclegan.load_size` -> `data.image_size`), as the paper's load_size / crop_size. The images are stored as their
interior already (`data.images.interior`: no paper margin), so every crop lies inside the picture; the offsets come
from the caller's uniform noise (the core's stateless, step-seeded noise), so a resumed run cuts the same crops."""

from __future__ import annotations

import tensorflow as tf


def crop_offsets(u, room):
    """Integer offsets in [0, room] from uniform noise u in [0, 1) (each offset equally likely)."""
    room = tf.cast(room, tf.float32)
    return tf.cast(tf.minimum(tf.floor(tf.cast(u, tf.float32) * (room + 1.0)), room), tf.int32)


def random_crops(images, size: int, u_y, u_x):
    """images [B, H, W, C] -> [B, size, size, C]: image i cut at rows oy[i]:oy[i]+size, columns ox[i]:ox[i]+size,
    the offsets drawn by u_y, u_x [B] (uniform in [0, 1)). Exact pixels (a gather, no resampling)."""
    shape = tf.shape(images)
    oy = crop_offsets(u_y, shape[1] - size)
    ox = crop_offsets(u_x, shape[2] - size)
    r = tf.range(size)
    rows = oy[:, None] + r[None, :]  # [B, size]
    cols = ox[:, None] + r[None, :]
    x = tf.gather(images, rows, axis=1, batch_dims=1)  # [B, size, W, C]
    return tf.gather(x, cols, axis=2, batch_dims=1)  # [B, size, size, C]
