"""The fused BatchNormalization (nets/fused_bn.py): trains exactly as Keras' own and survives Keras serialization."""

from __future__ import annotations

import numpy as np
import pytest


@pytest.mark.parametrize("shape", [(8, 4, 4, 6), (6, 5)])
def test_fused_batch_norm_trains_like_keras(shape):
    import keras
    import tensorflow as tf

    from keras_gans.nets.fused_bn import FusedBatchNormalization

    x = tf.constant(np.random.default_rng(0).normal(2.0, 3.0, shape), tf.float32)
    ref = keras.layers.BatchNormalization(momentum=0.9, epsilon=1e-5)
    ours = FusedBatchNormalization(momentum=0.9, epsilon=1e-5)
    ref.build(shape)
    ours.build(shape)
    g = np.linspace(0.5, 1.5, shape[-1]).astype("float32")
    for layer in (ref, ours):
        layer.gamma.assign(g)
        layer.beta.assign(-g)
    w = tf.constant(np.random.default_rng(1).normal(size=shape), tf.float32)
    outs = []
    for layer in (ref, ours):
        with tf.GradientTape() as tape:
            tape.watch(x)
            y = layer(x, training=True)
            loss = tf.reduce_sum(y * w)
        gx, gg, gb = tape.gradient(loss, [x, layer.gamma, layer.beta])
        outs.append([y, gx, gg, gb, layer.moving_mean, layer.moving_variance, layer(x, training=False)])
    for a, b in zip(*outs):
        np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=2e-4, atol=2e-5)
    assert abs(float(ours.moving_variance[0]) - 0.1 - 0.9 * 1.0) > 1e-3  # the moving statistics did move


def test_fused_batch_norm_round_trips_through_keras_serialization(tmp_path):
    import keras

    from keras_gans.nets.blocks import norm_layer

    inp = keras.Input((4, 4, 3))
    model = keras.Model(inp, norm_layer("batch")(inp))
    path = tmp_path / "m.keras"
    model.save(path)
    again = keras.models.load_model(path)
    x = np.random.default_rng(0).normal(size=(2, 4, 4, 3)).astype("float32")
    np.testing.assert_allclose(model(x), again(x), atol=1e-6)
    assert type(again.layers[-1]).__name__ == "FusedBatchNormalization"
