"""Every adversarial loss against its closed form on hand-made scores, so a sign or a factor error fails:
bce (with one-sided label smoothing), lsgan, wgan and hinge, for D and G; scores of any shape (a PatchGAN map is
meaned per example, not cut to its first column); the gradient penalty on a linear critic, whose gradient norm is
known. Pure TensorFlow ops on a few numbers: well under a second."""

from __future__ import annotations

import math

import numpy as np
import pytest
import tensorflow as tf

from keras_gans.parts import losses

LN3, LN43, LN4 = math.log(3.0), math.log(4.0 / 3.0), math.log(4.0)  # softplus(-ln 3) = ln 4/3, softplus(ln 3) = ln 4


def _v(x):
    return np.asarray(x, np.float64)


def test_bce_closed_form():
    real, fake = tf.constant([LN3, 0.0]), tf.constant([-LN3, 0.0])
    # D: -log sigmoid(real) - log(1 - sigmoid(fake)); sigmoid(ln 3) = 3/4
    np.testing.assert_allclose(_v(losses.bce_d(real, fake)), [2 * LN43, 2 * math.log(2.0)], rtol=1e-6)
    # one-sided smoothing s = 0.1: the real target is 0.9, so 0.1 of -log(1 - sigmoid(real)) is added
    np.testing.assert_allclose(_v(losses.bce_d(real, fake, 0.1)), [0.9 * LN43 + 0.1 * LN4 + LN43,
                                                                   2 * math.log(2.0)], rtol=1e-6)
    # G (non-saturating): -log sigmoid(fake); a fake D believes (score ln 3) costs less than one it rejects
    np.testing.assert_allclose(_v(losses.bce_g(tf.constant([LN3, -LN3]))), [LN43, LN4], rtol=1e-6)


def test_lsgan_closed_form():
    np.testing.assert_allclose(_v(losses.lsgan_d(tf.constant([0.5, 1.0]), tf.constant([0.25, 0.0]))),
                               [0.5 * (0.25 + 0.0625), 0.0], rtol=1e-6)
    # smoothing moves the real target to 1 - s
    np.testing.assert_allclose(_v(losses.lsgan_d(tf.constant([0.9]), tf.constant([0.0]), 0.1)), [0.0], atol=1e-7)
    np.testing.assert_allclose(_v(losses.lsgan_g(tf.constant([1.0, 0.0, 3.0]))), [0.0, 0.5, 2.0], rtol=1e-6)


def test_wgan_closed_form():
    # the critic maximises real - fake: its loss is fake - real; G maximises the critic's score of fakes
    np.testing.assert_allclose(_v(losses.wgan_d(tf.constant([2.0, -1.0]), tf.constant([0.5, 3.0]))), [-1.5, 4.0])
    np.testing.assert_allclose(_v(losses.wgan_g(tf.constant([2.0, -1.0]))), [-2.0, 1.0])


def test_hinge_closed_form():
    d = losses.hinge_d(tf.constant([0.5, 2.0, -1.0]), tf.constant([-0.25, -2.0, 1.0]))
    np.testing.assert_allclose(_v(d), [0.5 + 0.75, 0.0, 2.0 + 2.0])
    np.testing.assert_allclose(_v(losses.hinge_g(tf.constant([0.5, -2.0]))), [-0.5, 2.0])


@pytest.mark.parametrize("kind", sorted(losses.LOSSES))
def test_every_shape_gives_one_value_per_example(kind):
    """[B], [B, 1] and a PatchGAN map [B, h, w, 1]: the loss of a map is the mean of its patches' losses."""
    d_fn, g_fn = losses.d_loss_fn(kind), losses.g_loss_fn(kind)
    rng = np.random.default_rng(3)
    real_map = rng.normal(size=(2, 3, 3, 1)).astype("float32")
    fake_map = rng.normal(size=(2, 3, 3, 1)).astype("float32")
    d_map = _v(d_fn(tf.constant(real_map), tf.constant(fake_map), 0.1))
    g_map = _v(g_fn(tf.constant(fake_map)))
    assert d_map.shape == (2,) and g_map.shape == (2,)
    # per patch, as [B] scores, then meaned per example
    d_each = _v(d_fn(tf.constant(real_map.reshape(-1)), tf.constant(fake_map.reshape(-1)), 0.1)).reshape(2, 9)
    g_each = _v(g_fn(tf.constant(fake_map.reshape(-1)))).reshape(2, 9)
    np.testing.assert_allclose(d_map, d_each.mean(1), rtol=1e-5)
    np.testing.assert_allclose(g_map, g_each.mean(1), rtol=1e-5)
    # [B, 1] equals [B]
    col = rng.normal(size=(4, 1)).astype("float32")
    np.testing.assert_allclose(_v(g_fn(tf.constant(col))), _v(g_fn(tf.constant(col[:, 0]))), rtol=1e-6)


def test_a_map_is_not_cut_to_its_first_patch():
    """The bug this replaced: only column 0 of a flattened map counted. Here patch 0 is perfect, the rest not."""
    real = np.ones((1, 2, 2, 1), np.float32)
    real[0, 1, 1, 0] = 0.0
    d = float(losses.lsgan_d(tf.constant(real), tf.zeros_like(tf.constant(real)))[0])
    assert d == pytest.approx(0.5 * 1.0 / 4)


def test_score_to_prob_and_threshold():
    np.testing.assert_allclose(_v(losses.score_to_prob("bce", tf.constant([[0.0], [LN3]]))), [0.5, 0.75], rtol=1e-6)
    np.testing.assert_allclose(_v(losses.score_to_prob("wgan", tf.constant([[2.0], [-1.0]]))), [2.0, -1.0])
    assert losses.real_threshold("lsgan") == 0.5 and losses.real_threshold("bce") == 0.0


def test_gradient_penalty_on_a_linear_critic():
    """D(x) = <w, x> has gradient w everywhere: the penalty is weight * (||w|| - 1)^2 for any interpolation."""
    w = tf.constant(np.full((1, 2, 2, 1), 1.5, np.float32))  # ||w|| = sqrt(4 * 2.25) = 3

    def critic(x):
        return tf.reduce_sum(x * w, axis=[1, 2, 3])

    real = tf.random.stateless_normal([3, 2, 2, 1], seed=[1, 2])
    fake = tf.random.stateless_normal([3, 2, 2, 1], seed=[3, 4])
    gp = losses.gradient_penalty(critic, real, fake, tf.constant([0.0, 0.3, 1.0]), 10.0)
    np.testing.assert_allclose(_v(gp), [10.0 * (3.0 - 1.0) ** 2] * 3, rtol=1e-5)
    # a critic with unit gradient is not penalised
    unit = losses.gradient_penalty(lambda x: tf.reduce_sum(x * w / 3.0, axis=[1, 2, 3]), real, fake,
                                   tf.constant([0.5, 0.5, 0.5]), 10.0)
    np.testing.assert_allclose(_v(unit), [0.0] * 3, atol=1e-4)


def test_r1_penalty_closed_forms():
    """R1 = gamma/2 * ||grad_x D(x)||^2 per real example: a linear critic gives gamma/2 * ||w||^2 for every x;
    D(x) = sum(x^2) gives gamma/2 * 4 * ||x||^2, different per example; a constant critic costs nothing."""
    w = tf.constant(np.full((1, 2, 2, 1), 1.5, np.float32))  # ||w||^2 = 9
    real = tf.random.stateless_normal([3, 2, 2, 1], seed=[5, 6])
    lin, out = losses.r1_penalty(lambda x: tf.reduce_sum(x * w, axis=[1, 2, 3]), real, 10.0)
    np.testing.assert_allclose(_v(out), np.sum(_v(real) * _v(w), axis=(1, 2, 3)), rtol=1e-5)  # D(real), reusable
    np.testing.assert_allclose(_v(lin), [45.0] * 3, rtol=1e-5)
    quad, _ = losses.r1_penalty(lambda x: tf.reduce_sum(tf.square(x), axis=[1, 2, 3]), real, 2.0)
    np.testing.assert_allclose(_v(quad), 4.0 * np.sum(np.square(_v(real)), axis=(1, 2, 3)), rtol=1e-5)
    flat, _ = losses.r1_penalty(lambda x: tf.zeros([tf.shape(x)[0], 1]) + 0.0 * tf.reduce_sum(x), real, 10.0)
    np.testing.assert_allclose(_v(flat), [0.0] * 3, atol=1e-7)


def test_top_k_weights_keep_the_fakes_d_scores_most_real():
    """Sinha et al.'s top-k: half of [3, 1, 2, 0] keeps 3 and 2, each weighing 2 (the batch mean of the weighted
    loss is the mean over the kept ones); a fraction of 1 keeps all; a score map is judged by its mean."""
    s = tf.constant([[3.0], [1.0], [2.0], [0.0]])
    np.testing.assert_allclose(_v(losses.top_k_weights(s, 0.5)), [2.0, 0.0, 2.0, 0.0])
    np.testing.assert_allclose(_v(losses.top_k_weights(s, 1.0)), [1.0] * 4)
    np.testing.assert_allclose(_v(losses.top_k_weights(s, 0.01)), [4.0, 0.0, 0.0, 0.0])  # at least one kept
    maps = tf.reshape(tf.constant([0.0, 0.0, 5.0, 5.0, 1.0, 1.0]), [3, 1, 2, 1])
    np.testing.assert_allclose(_v(losses.top_k_weights(maps, 1 / 3)), [0.0, 3.0, 0.0])
    loss = tf.constant([1.0, 9.0, 3.0, 9.0])
    assert float(tf.reduce_mean(loss * losses.top_k_weights(s, 0.5))) == pytest.approx(2.0)
