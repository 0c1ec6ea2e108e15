"""Adversarial losses as small per-example functions selected by `loss.type`.

Each returns per-example values; the model reduces them by the *global* batch (tf.nn.compute_average_loss)
so gradients are right under tf.distribute. Scores are raw D outputs (logits for bce, no sigmoid anywhere).
"""

from __future__ import annotations

import tensorflow as tf


def _flat(x):
    return tf.reshape(tf.cast(x, tf.float32), [tf.shape(x)[0], -1])[:, 0] if len(x.shape) > 1 else tf.cast(x, tf.float32)


def bce_d(real, fake, smoothing=0.0):
    """Discriminator BCE on logits; one-sided label smoothing makes the real target 1 - smoothing."""
    real, fake = _flat(real), _flat(fake)
    t = 1.0 - smoothing
    return t * tf.nn.softplus(-real) + (1.0 - t) * tf.nn.softplus(real) + tf.nn.softplus(fake)


def bce_g(fake):
    """Non-saturating generator loss: -log sigmoid(D(G(z)))."""
    return tf.nn.softplus(-_flat(fake))


def lsgan_d(real, fake, smoothing=0.0):
    real, fake = _flat(real), _flat(fake)
    return 0.5 * (tf.square(real - (1.0 - smoothing)) + tf.square(fake))


def lsgan_g(fake):
    return 0.5 * tf.square(_flat(fake) - 1.0)


def wgan_d(real, fake, smoothing=0.0):
    return _flat(fake) - _flat(real)


def wgan_g(fake):
    return -_flat(fake)


def hinge_d(real, fake, smoothing=0.0):
    return tf.nn.relu(1.0 - _flat(real)) + tf.nn.relu(1.0 + _flat(fake))


def hinge_g(fake):
    return -_flat(fake)


LOSSES = {
    "bce": (bce_d, bce_g),
    "lsgan": (lsgan_d, lsgan_g),
    "wgan": (wgan_d, wgan_g),
    "hinge": (hinge_d, hinge_g),
}


def d_loss_fn(kind):
    return LOSSES[kind][0]


def g_loss_fn(kind):
    return LOSSES[kind][1]


def score_to_prob(kind, score):
    """What the diagnostics call D(x): the probability for bce; the raw score for the others."""
    s = _flat(score)
    return tf.sigmoid(s) if kind == "bce" else s


def real_threshold(kind) -> float:
    """Score above which D calls an image real (for D accuracy on real and fake)."""
    return 0.5 if kind == "lsgan" else 0.0


def gradient_penalty(critic, real, fake, alpha, weight: float):
    """Per-example WGAN-GP penalty weight * (||grad_x D(x_hat)||_2 - 1)^2 on x_hat = alpha*real + (1-alpha)*fake,
    one alpha ~ U(0, 1) per sample (alpha has shape [batch])."""
    a = tf.reshape(tf.cast(alpha, real.dtype), [-1] + [1] * (len(real.shape) - 1))
    x_hat = a * real + (1.0 - a) * fake
    with tf.GradientTape() as tape:
        tape.watch(x_hat)
        score = critic(x_hat)
    grads = tape.gradient(score, x_hat)
    norm = tf.sqrt(tf.reduce_sum(tf.square(tf.cast(grads, tf.float32)), axis=list(range(1, len(real.shape)))) + 1e-12)
    return weight * tf.square(norm - 1.0)
