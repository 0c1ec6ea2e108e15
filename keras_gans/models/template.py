"""The template family: the smallest latent GAN written against the core, to copy when adding a family.

Config `model: template`. It shows every piece a family supplies, and nothing else:

- what it can do (`capabilities`) and which attributes hold its nets (`net_names`);
- `from_config(cfg, data_info)`: the one place it is built from its config -- its nets (from keras_gans.nets) and
  optimizers (the one factory, keras_gans.parts.optimizers), passed to `__init__` as keras-io passes them to its GAN;
- `optimizers()` / `trainable_sets()`: name -> optimizer / the variables it updates (checkpointed under the names);
- `step_updates(data)`: its losses (keras_gans.parts.losses), each update through `self.minimize`; the core's
  `train_step` runs it, then counts the step and updates the trackers named in `tracker_names`;
- `generate` and `export_endpoints` (the export builder, models/signatures.py).

Noise comes from `self.latent_noise(batch, salt)` (LatentSampler): stateless, seeded by run seed, step and salt,
so it is exact on resume and right under tf.distribute. tests/test_template_family.py trains it for two steps
through the normal driver, so this file cannot rot. docs/extending.md walks through it.
"""

from __future__ import annotations

import tensorflow as tf

from keras_gans import nets
from keras_gans.parts import losses
from keras_gans.models.base import GenerativeModel
from keras_gans.models.capabilities import LATENT
from keras_gans.models.latent import LatentSampler
from keras_gans.models.signatures import add_latent_signatures
from keras_gans.parts.optimizers import from_train_config


class TemplateGAN(LatentSampler, GenerativeModel):
    family = "template"
    capabilities = frozenset({LATENT})
    net_names = ("generator", "discriminator")
    tracker_names = ("d_loss", "g_loss", "d_grad_norm", "g_grad_norm")

    @classmethod
    def from_config(cls, cfg: dict, data_info: dict):
        shape, sync_bn, t = tuple(data_info["image_shape"]), cls.uses_sync_bn(cfg), cfg["train"]
        return cls(cfg, data_info,
                   generator=nets.build_generator(cfg["net"], shape, sync_bn),
                   discriminator=nets.build_discriminator(cfg["net"], shape, sync_bn),
                   g_optimizer=from_train_config(t, t["g_lr"]), d_optimizer=from_train_config(t, t["d_lr"]))

    def __init__(self, cfg: dict, data_info: dict, *, generator, discriminator, g_optimizer, d_optimizer, **kwargs):
        super().__init__(cfg, data_info, **kwargs)  # core: seed, step counter, trackers; mixin: latent_dim, z_std
        self.generator, self.discriminator = generator, discriminator
        self.g_optimizer, self.d_optimizer = g_optimizer, d_optimizer
        self.d_loss_fn = losses.d_loss_fn(cfg["loss"]["type"])
        self.g_loss_fn = losses.g_loss_fn(cfg["loss"]["type"])

    def optimizers(self):
        return {"g": self.g_optimizer, "d": self.d_optimizer}

    def trainable_sets(self):
        return {"g": self.generator.trainable_variables, "d": self.discriminator.trainable_variables}

    def step_updates(self, data):
        real = data["image"]
        batch = tf.shape(real)[0]
        fake = tf.stop_gradient(self.generator(self.latent_noise(batch, salt=1), training=True))

        def d_loss(tape):
            real_score = self.discriminator(real, training=True)
            fake_score = self.discriminator(fake, training=True)
            return self.d_loss_fn(real_score, fake_score), None

        z = self.latent_noise(batch, salt=2)

        def g_loss(tape):
            return self.g_loss_fn(self.discriminator(self.generator(z, training=True), training=True)), None

        d, d_norm, _ = self.minimize("d", d_loss)
        g, g_norm, _ = self.minimize("g", g_loss)
        return {"d_loss": d, "g_loss": g, "d_grad_norm": d_norm, "g_grad_norm": g_norm}

    def generate(self, inputs, training=False):
        return self.generator(inputs, training=training)

    def export_endpoints(self, archive):
        add_latent_signatures(archive, self.generator, self.latent_dim, self.z_std)
