"""Image-to-image translation at any size: the working size a generator runs at, and the resize -> translate ->
resize-back path that `transfer`, the CycleGAN model and its export share. The working size is the scale the model
saw its photos at in training (CycleGAN: cyclegan.work_size, by default load_size, else data.image_size), so the
strokes come out at the size G learned them, whatever the input's resolution."""

from __future__ import annotations

import tensorflow as tf

from keras_gans.core.images import from_uint8, to_uint8_tensor


def working_size(h, w, size: int, max_ratio: float = 4.0):
    """The size G runs at for an h x w input: shorter side = `size` (the working size: strokes at the scale G
    learned), aspect kept, the longer side capped at max_ratio * size, both rounded to a multiple of 4."""
    h = tf.cast(h, tf.float32)
    w = tf.cast(w, tf.float32)
    scale = tf.minimum(size / tf.minimum(h, w), max_ratio * size / tf.maximum(h, w))
    nh = tf.maximum(4, tf.cast(tf.round(h * scale / 4.0), tf.int32) * 4)
    nw = tf.maximum(4, tf.cast(tf.round(w * scale / 4.0), tf.int32) * 4)
    return nh, nw


def transfer_images(g, images_u8, size: int):
    """uint8 [B, H, W, C] of any H, W -> uint8 [B, H, W, C]: resized (bilinear, antialiased) to the working size,
    translated by G, resized back to H x W. An input already at the working size is not resampled at all."""
    images_u8 = tf.convert_to_tensor(images_u8)
    shape = tf.shape(images_u8)
    h, w = shape[1], shape[2]
    nh, nw = working_size(h, w, size)
    x = from_uint8(images_u8)
    same = tf.logical_and(tf.equal(nh, h), tf.equal(nw, w))
    x_in = tf.cond(same, lambda: x, lambda: tf.image.resize(x, tf.stack([nh, nw]), "bilinear", antialias=True))
    y = tf.cast(g(x_in, training=False), tf.float32)
    y = tf.cond(same, lambda: y, lambda: tf.image.resize(y, tf.stack([h, w]), "bilinear", antialias=True))
    return to_uint8_tensor(y)
