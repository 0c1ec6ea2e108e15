"""The plain-Keras arm: the course-baseline DCGAN as a user would write it with nothing else around it.

A `keras.Model` subclass whose `train_step` follows the PyTorch DCGAN tutorial's update order: one G forward
pass; D updated on the real batch and on the detached fakes; G updated through the *updated* D on the same
fakes; BCE on logits; two `keras.metrics.Mean` trackers. `fit` on a `tf.data` stream of in-memory images.
Same nets as keras_gans' `dcgan` preset at 64 px (benchmarks/reference_dcgan.py builds them).
Self-contained on purpose, like the other baseline arms: a user's plain Keras model shares nothing with keras_gans,
so its trackers and optimizers repeat reference_dcgan.py's lines by design (`duplicates` lists them).
"""

from __future__ import annotations

import keras
import tensorflow as tf

from reference_dcgan import reference_discriminator, reference_generator


class PlainDCGAN(keras.Model):
    def __init__(self, discriminator, generator, latent_dim: int):
        super().__init__()
        self.discriminator, self.generator, self.latent_dim = discriminator, generator, latent_dim
        self.seed_generator = keras.random.SeedGenerator(1337)
        self.bce = keras.losses.BinaryCrossentropy(from_logits=True)
        self.d_optimizer = keras.optimizers.Adam(2e-4, beta_1=0.5)
        self.g_optimizer = keras.optimizers.Adam(2e-4, beta_1=0.5)
        self.d_loss_metric = keras.metrics.Mean(name="d_loss")
        self.g_loss_metric = keras.metrics.Mean(name="g_loss")

    @property
    def metrics(self):
        return [self.d_loss_metric, self.g_loss_metric]

    def train_step(self, real):
        b = tf.shape(real)[0]
        ones, zeros = tf.ones((b, 1)), tf.zeros((b, 1))
        z = keras.random.normal((b, self.latent_dim), seed=self.seed_generator)
        with tf.GradientTape() as g_tape:
            fake = self.generator(z, training=True)
            with g_tape.stop_recording():
                with tf.GradientTape() as d_tape:
                    d_loss = self.bce(ones, self.discriminator(real, training=True)) + self.bce(
                        zeros, self.discriminator(tf.stop_gradient(fake), training=True)
                    )
                d_vars = self.discriminator.trainable_weights
                self.d_optimizer.apply_gradients(zip(d_tape.gradient(d_loss, d_vars), d_vars))
            g_loss = self.bce(ones, self.discriminator(fake, training=True))
        g_vars = self.generator.trainable_weights
        self.g_optimizer.apply_gradients(zip(g_tape.gradient(g_loss, g_vars), g_vars))
        self.d_loss_metric.update_state(d_loss)
        self.g_loss_metric.update_state(g_loss)
        return {"d_loss": self.d_loss_metric.result(), "g_loss": self.g_loss_metric.result()}


def build_plain(latent_dim: int = 100, image_size: int = 64, channels: int = 3, dim: int = 64, **compile_kwargs):
    gan = PlainDCGAN(reference_discriminator(image_size, channels, dim),
                     reference_generator(latent_dim, image_size, channels, dim), latent_dim)
    gan.compile(**compile_kwargs)
    return gan


def plain_dataset(images, batch_size: int):
    """In-memory uint8 images -> shuffled, repeated float batches in [-1, 1]."""
    ds = tf.data.Dataset.from_tensor_slices(images).shuffle(len(images)).repeat().batch(batch_size, drop_remainder=True)
    return ds.map(lambda x: tf.cast(x, tf.float32) / 127.5 - 1.0).prefetch(tf.data.AUTOTUNE)
