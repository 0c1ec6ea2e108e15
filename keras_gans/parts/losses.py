"""Adversarial losses as small per-example functions selected by `loss.type`.

Each returns one value per example; the model reduces them by the *global* batch (tf.nn.compute_average_loss)
so gradients are right under tf.distribute. Scores are raw D outputs (logits for bce, no sigmoid anywhere) of any
shape: [B], [B, 1], or a PatchGAN map [B, h, w, 1], whose loss is the mean of its patches' losses
(`per_example`). tests/test_losses.py checks every one against its closed form.
"""

from __future__ import annotations

import tensorflow as tf

from keras_gans.core import registry


def per_example(x):
    """Mean over every axis but the batch axis: one float32 value per example for a tensor of any shape."""
    x = tf.cast(x, tf.float32)
    rank = len(x.shape)
    return tf.reduce_mean(x, axis=list(range(1, rank))) if rank > 1 else x


def _f32(x):
    return tf.cast(x, tf.float32)


def bce_d(real, fake, smoothing=0.0):
    """Discriminator BCE on logits; one-sided label smoothing makes the real target 1 - smoothing."""
    real, fake = _f32(real), _f32(fake)
    t = 1.0 - smoothing
    return per_example(t * tf.nn.softplus(-real) + (1.0 - t) * tf.nn.softplus(real)) + per_example(tf.nn.softplus(fake))


def bce_g(fake):
    """Non-saturating generator loss: -log sigmoid(D(G(z)))."""
    return per_example(tf.nn.softplus(-_f32(fake)))


def lsgan_d(real, fake, smoothing=0.0):
    """0.5 * ((D(x) - (1 - s))^2 + D(G(z))^2) (Mao et al. 2017, the 0-1 coding)."""
    real, fake = _f32(real), _f32(fake)
    return 0.5 * (per_example(tf.square(real - (1.0 - smoothing))) + per_example(tf.square(fake)))


def lsgan_g(fake):
    return 0.5 * per_example(tf.square(_f32(fake) - 1.0))


def wgan_d(real, fake, smoothing=0.0):
    return per_example(fake) - per_example(real)


def wgan_g(fake):
    return -per_example(fake)


def hinge_d(real, fake, smoothing=0.0):
    return per_example(tf.nn.relu(1.0 - _f32(real))) + per_example(tf.nn.relu(1.0 + _f32(fake)))


def hinge_g(fake):
    return -per_example(fake)


# loss.type -> (D loss, G loss): the names come from the one list (keras_gans/core/registry.py), the functions from here
LOSSES = {name: (globals()[f"{name}_d"], globals()[f"{name}_g"]) for name in registry.LOSSES}


def d_loss_fn(kind):
    return LOSSES[kind][0]


def g_loss_fn(kind):
    return LOSSES[kind][1]


def score_to_prob(kind, score):
    """What the diagnostics call D(x) per example: the probability for bce; the raw score for the others (a map's
    mean)."""
    s = _f32(score)
    return per_example(tf.sigmoid(s) if kind == "bce" else s)


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


def r1_penalty(critic, real, gamma: float, score=lambda out: out):
    """(per-example R1 penalty gamma/2 * ||grad_x D(x)||^2 on the real images, critic(real)) (Mescheder, Geiger &
    Nowozin 2018): D is kept flat around the data, so it cannot sharpen into a memoriser of a small training set;
    cheaper than WGAN-GP (no interpolates) and used with the ordinary losses. The critic's output is returned so
    the caller's loss reuses this forward pass (`score` picks the scores out of it)."""
    with tf.GradientTape() as tape:
        tape.watch(real)
        out = critic(real)
        total = tf.reduce_sum(tf.cast(score(out), tf.float32))  # examples are independent: d total / d x_i
    grads = tf.cast(tape.gradient(total, real), tf.float32)
    return 0.5 * gamma * tf.reduce_sum(tf.square(grads), axis=list(range(1, len(real.shape)))), out


def top_k_weights(score, fraction):
    """Per-example weights for G's loss that keep only the `fraction` of fakes D scores as most real (Sinha et al.
    2020, "Top-k training of GANs"): the worst fakes' gradients point G at the wrong modes. Kept examples weigh
    1/fraction, so the batch mean equals the mean over the kept ones."""
    s = per_example(score)
    n = tf.shape(s)[0]
    k = tf.maximum(1, tf.cast(tf.round(tf.cast(fraction, tf.float32) * tf.cast(n, tf.float32)), tf.int32))
    kth = tf.math.top_k(s, k=k).values[-1]
    return tf.cast(s >= kth, tf.float32) * tf.cast(n, tf.float32) / tf.cast(k, tf.float32)


# ----- the VAE's terms ----------------------------------------------------------------------------------------
def kl_divergence(mu, logvar):
    """KL(N(mu, exp(logvar)) || N(0, I)) per example, summed over the latent dimensions (closed form)."""
    mu, logvar = tf.cast(mu, tf.float32), tf.cast(logvar, tf.float32)
    return -0.5 * tf.reduce_sum(1.0 + logvar - tf.square(mu) - tf.exp(logvar), axis=-1)


def reconstruction_error(x, x_hat, reduction: str = "mean"):
    """Squared error per example over all of its pixels: meaned (MSE) or summed."""
    d = tf.square(tf.cast(x, tf.float32) - tf.cast(x_hat, tf.float32))
    d = tf.reshape(d, [tf.shape(d)[0], -1])
    return tf.reduce_mean(d, axis=-1) if reduction == "mean" else tf.reduce_sum(d, axis=-1)
