"""A reference re-implementation of the keras-io "DCGAN overriding train_step" formulation, for benchmarks only.

The keras-io example (fchollet, "DCGAN to generate face images") trains a GAN with plain `fit` by subclassing
`keras.Model` and overriding `train_step`: draw latents, generate a batch, concatenate fake and real images into
one discriminator batch with (noisy) 1/0 labels, update D on it; draw fresh latents, update G through D with
"misleading" labels; track both losses with `keras.metrics.Mean`. That formulation is reproduced here, written
from its description, with the *course-baseline* DCGAN nets (the same architecture keras_gans builds for
`configs/dcgan.yaml --set data.image_size=64`), so that a benchmark compares training formulations and engines at
equal architecture, batch and precision. Self-contained on purpose (it imports nothing from keras_gans): its
trackers and the size arithmetic repeat lines of plain_keras_dcgan.py / torch_dcgan.py by design.
"""

from __future__ import annotations

import keras
import tensorflow as tf
from keras import layers


def _init():
    return keras.initializers.RandomNormal(0.0, 0.02)


def reference_generator(latent_dim: int = 100, image_size: int = 64, channels: int = 3, dim: int = 64):
    """Course-baseline G: Dense -> 4x4x(8*dim) + BN + ReLU, then ConvTranspose k5 s2 (+ BN + ReLU) up to image_size."""
    ups, s = 0, image_size
    while s > 4:
        s //= 2
        ups += 1
    width = dim * 2 ** (ups - 1)
    model = keras.Sequential(name="ref_generator")
    model.add(keras.Input((latent_dim,)))
    model.add(layers.Dense(4 * 4 * width, use_bias=False, kernel_initializer=_init()))
    model.add(layers.Reshape((4, 4, width)))
    model.add(layers.BatchNormalization(momentum=0.9, epsilon=1e-5))
    model.add(layers.ReLU())
    for _ in range(ups - 1):
        width //= 2
        model.add(layers.Conv2DTranspose(width, 5, strides=2, padding="same", use_bias=False, kernel_initializer=_init()))
        model.add(layers.BatchNormalization(momentum=0.9, epsilon=1e-5))
        model.add(layers.ReLU())
    model.add(layers.Conv2DTranspose(channels, 5, strides=2, padding="same", kernel_initializer=_init()))
    model.add(layers.Activation("tanh", dtype="float32"))
    return model


def reference_discriminator(image_size: int = 64, channels: int = 3, dim: int = 64):
    """Course-baseline D: Conv k5 s2 + LeakyReLU(0.2), BN in the inner blocks, then one logit."""
    model = keras.Sequential(name="ref_discriminator")
    model.add(keras.Input((image_size, image_size, channels)))
    s, i = image_size, 0
    while s > 4:
        model.add(layers.Conv2D(dim * 2**i, 5, strides=2, padding="same", kernel_initializer=_init()))
        if i > 0:
            model.add(layers.BatchNormalization(momentum=0.9, epsilon=1e-5))
        model.add(layers.LeakyReLU(negative_slope=0.2))
        s //= 2
        i += 1
    model.add(layers.Flatten())
    model.add(layers.Dense(1, kernel_initializer=_init(), dtype="float32"))
    return model


class ReferenceGAN(keras.Model):
    """The keras-io formulation: one `train_step` with a D update on concat(fake, real) and a G update."""

    def __init__(self, discriminator, generator, latent_dim: int):
        super().__init__()
        self.discriminator = discriminator
        self.generator = generator
        self.latent_dim = latent_dim
        self.seed_generator = keras.random.SeedGenerator(1337)

    def compile(self, d_optimizer, g_optimizer, loss_fn, **kwargs):
        super().compile(**kwargs)
        self.d_optimizer = d_optimizer
        self.g_optimizer = g_optimizer
        self.loss_fn = loss_fn
        self.d_loss_metric = keras.metrics.Mean(name="d_loss")
        self.g_loss_metric = keras.metrics.Mean(name="g_loss")

    @property
    def metrics(self):
        return [self.d_loss_metric, self.g_loss_metric]

    def train_step(self, real_images):
        batch_size = tf.shape(real_images)[0]
        # Discriminator: fake and real images in one batch, labels 1 = fake, 0 = real, with a little label noise.
        z = keras.random.normal((batch_size, self.latent_dim), seed=self.seed_generator)
        generated = self.generator(z, training=True)
        combined = tf.concat([tf.cast(generated, real_images.dtype), real_images], axis=0)
        labels = tf.concat([tf.ones((batch_size, 1)), tf.zeros((batch_size, 1))], axis=0)
        labels += 0.05 * keras.random.uniform(tf.shape(labels), seed=self.seed_generator)
        with tf.GradientTape() as tape:
            predictions = self.discriminator(combined, training=True)
            d_loss = self.loss_fn(labels, predictions)
        grads = tape.gradient(d_loss, self.discriminator.trainable_weights)
        self.d_optimizer.apply_gradients(zip(grads, self.discriminator.trainable_weights))

        # Generator: fresh latents, "misleading" labels (all real).
        z = keras.random.normal((batch_size, self.latent_dim), seed=self.seed_generator)
        misleading = tf.zeros((batch_size, 1))
        with tf.GradientTape() as tape:
            predictions = self.discriminator(self.generator(z, training=True), training=True)
            g_loss = self.loss_fn(misleading, predictions)
        grads = tape.gradient(g_loss, self.generator.trainable_weights)
        self.g_optimizer.apply_gradients(zip(grads, self.generator.trainable_weights))

        self.d_loss_metric.update_state(d_loss)
        self.g_loss_metric.update_state(g_loss)
        return {"d_loss": self.d_loss_metric.result(), "g_loss": self.g_loss_metric.result()}


def build_reference(latent_dim: int = 100, image_size: int = 64, channels: int = 3, dim: int = 64, jit_compile=False):
    gan = ReferenceGAN(
        reference_discriminator(image_size, channels, dim), reference_generator(latent_dim, image_size, channels, dim),
        latent_dim,
    )
    gan.compile(
        d_optimizer=keras.optimizers.Adam(2e-4, beta_1=0.5),
        g_optimizer=keras.optimizers.Adam(2e-4, beta_1=0.5),
        loss_fn=keras.losses.BinaryCrossentropy(from_logits=True),
        jit_compile=jit_compile,
    )
    return gan


def reference_dataset(images, batch_size: int):
    """The example's input: an in-memory tf.data stream of float batches (here scaled to [-1, 1] for tanh)."""
    ds = tf.data.Dataset.from_tensor_slices(images).shuffle(len(images)).repeat().batch(batch_size, drop_remainder=True)
    return ds.map(lambda x: tf.cast(x, tf.float32) / 127.5 - 1.0).prefetch(tf.data.AUTOTUNE)
