"""PatchNCE (Park, Efros, Zhang & Zhu 2020, "Contrastive Learning for Unpaired Image-to-Image Translation"): the
pieces of CUT's contrastive loss, as plain functions and one Keras net.

- `encoder_taps(g, names)`: a model over G's own graph (shared weights) that returns the feature maps of the named
  layers, e.g. the padded input, the downsampling convs and a residual block of the ResNet generator.
- `patch_ids(hw, num_patches, noise)`: which positions of an h*w map are compared, a random permutation's first
  `num_patches` (all of them where the map is smaller); `sample_patches(feat, ids)` takes those positions of a
  [B, H, W, C] map as [B, P, C]. The same ids serve the input's features (keys) and the output's (queries), so
  patch i of the output is compared with patch i of the input at the same place.
- `build_patch_heads(channels, units)`: one 2-layer MLP per layer (Dense(units) - ReLU - Dense(units)), each output
  L2-normalised (the reference's PatchSampleF with use_mlp). Keras' default (Glorot) initialiser: the loss does not
  depend on the heads' scale, their outputs being normalised, but the gradient does, as 1 / |output|; the
  reference's tiny initial weights (gain 0.02) give gradient norms of 1e3 and more at the first steps.
- `patch_nce(q, k, temperature)`: per example, the mean over its P patches of the cross-entropy of picking the key
  at the query's own position among the image's P keys: logits [q.k_i, q.k_j (j != i)] / tau, the diagonal of the
  negatives set to -10 before the division (as in the reference), keys held constant (stop_gradient).
"""

from __future__ import annotations

import keras
import tensorflow as tf
from keras import layers

from keras_gans.nets.blocks import initializer


def encoder_taps(g: keras.Model, names, name: str = "encoder_taps") -> keras.Model:
    """image -> [feature map of each named layer of g] (g's own weights; computes only up to the deepest one)."""
    return keras.Model(g.input, [g.get_layer(n).output for n in names], name=name)


def patch_ids(hw, num_patches: int, noise):
    """int32 [min(num_patches, hw)]: distinct positions in 0..hw-1, the first of a random permutation drawn from
    `noise` (float [hw], e.g. the model's stateless uniform noise)."""
    return tf.argsort(noise[:hw])[:num_patches]


def sample_patches(feat, ids):
    """feat [B, H, W, C], ids [P] -> [B, P, C]: the feature vectors at positions ids of the row-major H*W grid."""
    shape = tf.shape(feat)
    flat = tf.reshape(feat, tf.stack([shape[0], shape[1] * shape[2], shape[3]]))
    return tf.gather(flat, ids, axis=1)


def build_patch_heads(channels, units: int = 256, init_std: float | None = None, name: str = "patch_heads") -> keras.Model:
    """One input per layer (patches [N_l, C_l]) -> one output per layer ([N_l, units], unit length, float32)."""
    init = initializer(init_std)
    inputs, outputs = [], []
    for i, c in enumerate(channels):
        x = inp = keras.Input((int(c),), name=f"patches{i}")
        x = layers.Dense(units, activation="relu", kernel_initializer=init, name=f"head{i}_dense1")(x)
        x = layers.Dense(units, kernel_initializer=init, dtype="float32", name=f"head{i}_dense2")(x)
        outputs.append(layers.UnitNormalization(axis=-1, dtype="float32", name=f"head{i}_l2")(x))
        inputs.append(inp)
    return keras.Model(inputs, outputs, name=name)


def head_params(channels: int, units: int) -> int:
    """Weights of one head: Dense(channels -> units) and Dense(units -> units), biases included."""
    return (int(channels) + 1) * units + (units + 1) * units


def patch_nce(q, k, temperature: float):
    """q, k: [B, P, D] unit vectors (queries from G's output, keys from its input, same positions) -> [B]."""
    q = tf.cast(q, tf.float32)
    k = tf.stop_gradient(tf.cast(k, tf.float32))
    pos = tf.reduce_sum(q * k, axis=-1, keepdims=True)  # [B, P, 1]: the query's own position
    neg = tf.matmul(q, k, transpose_b=True)  # [B, P, P]: every key of the same image
    eye = tf.eye(tf.shape(neg)[1], dtype=tf.bool)[None]
    neg = tf.where(eye, tf.constant(-10.0), neg)  # the positive itself is no negative
    logits = tf.concat([pos, neg], axis=-1) / float(temperature)
    return tf.reduce_mean(-tf.nn.log_softmax(logits, axis=-1)[..., 0], axis=-1)
