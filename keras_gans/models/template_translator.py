"""The template translator: the smallest image-to-image family written against the core, to copy when adding one
(pix2pix, CUT, ...). Config `model: template_translator`.

One generator G: A -> B (photo -> style; a ResNet from the nets registry) and one PatchGAN D judging B images. One
train step: G update with the LSGAN term (D(G(a)) -> 1) plus lambda_content * |G(a) - a| (L1: keeps the photo's
layout), then a D update with the LSGAN loss on real B images and on G's fakes. It shows every piece a translator
supplies, and nothing else:

- what it can do (`capabilities = {TRANSLATOR}`, the `Translator` mixin: models/translator.py) and which
  attributes hold its nets (`net_names`);
- the data it trains on: `data_kind = "domains"` and `data_options` (how the data layer loads the two domains),
  then `prepare_data` (arrays and a json-able data_info);
- `from_config`: its nets by name (keras_gans.nets.build_image_net) and optimizers (the one factory), passed to
  `__init__` -- the one place it is built from its config section;
- `optimizers()` / `trainable_sets()` and `step_updates` (each update through `self.minimize`);
- the TRANSLATOR methods `generator_for(direction)` and (from the mixin) `transfer`, `direction_meta` and the export
  signatures `a2b`, `a2b_bytes`, `serving_default`, `directions` (models/signatures.py).

`transfer` and `demo` serve it without naming it: tests/test_template_translator.py trains it through the normal
driver, then runs both on its run and its export, so this file cannot rot. docs/extending.md walks through it.
"""

from __future__ import annotations

import numpy as np
import tensorflow as tf

from keras_gans.parts import losses
from keras_gans.data.source import DomainOptions
from keras_gans.core.errors import UserError
from keras_gans.core.images import from_uint8, make_grid, to_uint8
from keras_gans.models.base import GenerativeModel
from keras_gans.models.capabilities import TRANSLATOR
from keras_gans.models.template_translator_config import SECTION
from keras_gans.models.translator import Translator, check_direction, decode_samples, encode_samples
from keras_gans.nets import build_image_net
from keras_gans.parts.optimizers import from_train_config


class TemplateTranslator(Translator, GenerativeModel):
    family = "template_translator"
    capabilities = frozenset({TRANSLATOR})
    translator_directions = ("a2b",)  # photo (A) -> style (B) only
    net_names = ("generator", "discriminator")
    image_keys = ("a", "b")
    data_kind = "domains"
    tracker_names = ("g_loss", "d_loss", "adv_loss", "content_loss", "g_grad_norm", "d_grad_norm")

    @classmethod
    def from_config(cls, cfg: dict, data_info: dict):
        c, t = cfg[SECTION], cfg["train"]
        shape, std = tuple(data_info["image_shape"]), cfg["net"]["weights_init"] or 0.02
        g = build_image_net(c["g_net"], shape, name="generator", filters=c["g_filters"], n_blocks=c["n_blocks"],
                            norm=c["norm"], init_std=std)
        d = build_image_net(c["d_net"], shape, name="discriminator", filters=c["d_filters"], n_layers=c["d_layers"],
                            norm=c["norm"], init_std=std)
        return cls(cfg, data_info, generator=g, discriminator=d,
                   g_optimizer=from_train_config(t, t["g_lr"]), d_optimizer=from_train_config(t, t["d_lr"]))

    def __init__(self, cfg: dict, data_info: dict, *, generator, discriminator, g_optimizer, d_optimizer, **kwargs):
        super().__init__(cfg, data_info, **kwargs)
        self.generator, self.discriminator = generator, discriminator
        self.g_optimizer, self.d_optimizer = g_optimizer, d_optimizer
        self.lambda_content = float(cfg[SECTION]["lambda_content"])
        self.work_size = int(self.image_shape[0])  # G runs at the size it trained at, whatever the input's size
        samples = data_info.get("samples") or []
        self.sample_a = (decode_samples(samples, self.image_shape[-1]) if samples
                         else np.zeros((0,) + self.image_shape, np.uint8))

    # ----- data -------------------------------------------------------------------------------------------------
    @classmethod
    def data_options(cls, cfg: dict) -> DomainOptions:
        c = cfg[SECTION]
        return DomainOptions(n_test=int(c["n_test_samples"]), per_domain=int(c["scenes_per_domain"]))

    @classmethod
    def prepare_data(cls, cfg: dict, domains):
        if len(domains.a) == 0 or len(domains.b) == 0:
            raise UserError(f"{cfg['model']} needs images in both domains; {domains.source} gave {len(domains.a)} A "
                            f"and {len(domains.b)} B images")
        info = {"image_shape": list(domains.a.shape[1:]), "n_images": len(domains), "n_a": len(domains.a),
                "n_b": len(domains.b), "source": domains.source, "samples": encode_samples(domains.test_a)}
        return {"a": domains.a, "b": domains.b}, info

    # ----- training ---------------------------------------------------------------------------------------------
    def optimizers(self):
        return {"g": self.g_optimizer, "d": self.d_optimizer}

    def trainable_sets(self):
        return {"g": self.generator.trainable_variables, "d": self.discriminator.trainable_variables}

    def step_updates(self, data):
        real_a, real_b = data["a"], data["b"]

        def g_compute(tape):
            fake_b = self.generator(real_a, training=True)
            adv = 2.0 * losses.lsgan_g(self.discriminator(fake_b, training=True))  # mean (D(G(a)) - 1)^2
            content = losses.per_example(tf.abs(tf.cast(fake_b, tf.float32) - real_a))
            return adv + self.lambda_content * content, {"fake_b": fake_b, "adv_loss": adv, "content_loss": content}

        g_loss, g_norm, g = self.minimize("g", g_compute)
        fake_b = tf.stop_gradient(g["fake_b"])

        def d_compute(tape):
            real, fake = self.discriminator(real_b, training=True), self.discriminator(fake_b, training=True)
            return losses.lsgan_d(real, fake), None

        d_loss, d_norm, _ = self.minimize("d", d_compute)
        return {"g_loss": g_loss, "d_loss": d_loss, "g_grad_norm": g_norm, "d_grad_norm": d_norm,
                "adv_loss": self.reduce(g["adv_loss"]), "content_loss": self.reduce(g["content_loss"])}

    # ----- what a translator offers -----------------------------------------------------------------------------
    def generator_for(self, direction: str):
        check_direction(direction, self.translator_directions)
        return self.generator

    def generate(self, inputs, training=False):
        return self.generator(inputs, training=training)

    def sample_panel(self, n: int):
        """One row per test photo: the photo, then G's translation."""
        if len(self.sample_a) == 0:
            blank = np.zeros((1,) + self.image_shape, np.uint8)
            return make_grid(blank), blank[:0]
        fakes = to_uint8(np.asarray(self.generator(from_uint8(self.sample_a), training=False)))
        tiles = np.stack([self.sample_a, fakes], axis=1).reshape((-1,) + self.image_shape)
        return make_grid(tiles, nrow=2, min_cell=self.grid_cell), fakes

    def export_endpoints(self, archive, uint8_fn=None, png_fn=None):
        self.add_translator_exports(archive)
