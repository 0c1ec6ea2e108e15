"""CycleGAN (Zhu, Park, Isola & Efros 2017): unpaired image-to-image translation between domains A and B.

Two ResNet generators (G_ab: A -> B, G_ba: B -> A) and two 70x70 PatchGAN discriminators (D_a judges A images,
D_b judges B images). One train step, as in the reference code:

1. G update (both generators, one Adam): LSGAN adversarial terms (D_b(G_ab(a)) -> 1, D_a(G_ba(b)) -> 1),
   cycle consistency lambda * (|G_ba(G_ab(a)) - a| + |G_ab(G_ba(b)) - b|) and identity
   lambda * lambda_identity * (|G_ab(b) - b| + |G_ba(a) - a|);
2. D update (both discriminators, one Adam): 0.5 * LSGAN loss on the real images and on fakes drawn from a
   history pool of the last `pool_size` generated images per direction (Shrivastava et al. 2017).

The pools are model weights (checkpointed, so a resume is exact) and their random choices use the core's
stateless noise (`self.uniform`, seeded by run seed and step). Learning rates stay constant, then fall linearly
to 0 over the last `decay_epochs` epochs (a LearningRateSchedule on the optimizer's step counter).
Every loss term is a tracker, so history.csv has one column each (cycle/identity terms unweighted L1).
"""

from __future__ import annotations

import numpy as np
import tensorflow as tf

from keras_gans.parts import augment, losses
from keras_gans.data.crops import random_crops
from keras_gans.data.source import DomainOptions, Domains
from keras_gans.core.errors import UserError
from keras_gans.parts.image_pool import pool_query
from keras_gans.core.images import from_uint8, make_grid, to_uint8
from keras_gans.models.base import GenerativeModel
from keras_gans.models.capabilities import TRANSLATOR
from keras_gans.models.cyclegan_config import work_size as cfg_work_size
from keras_gans.models.translator import DIRECTIONS, Translator, decode_samples, encode_samples
from keras_gans.nets import build_image_net
from keras_gans.parts.optimizers import LinearDecay, from_train_config


# ----- learning rate ----------------------------------------------------------------------------------------------
def decay_epochs(cfg: dict, section: str = "cyclegan") -> int:
    de = cfg[section]["decay_epochs"]
    return int(de) if de is not None else (int(cfg["train"]["epochs"]) + 1) // 2


def lr_schedule(cfg: dict, base_lr: float, steps_per_epoch: int, section: str = "cyclegan") -> LinearDecay:
    epochs = int(cfg["train"]["epochs"])
    return LinearDecay(base_lr, epochs * steps_per_epoch, decay_epochs(cfg, section) * steps_per_epoch)


def domain_options(c: dict) -> DomainOptions:
    """What load_domains reads for a family on two unpaired domains, from its section (cyclegan, cut): stored at
    load_size, the style side's margin cut off, the built-in scenes' size, test images for the grids."""
    return DomainOptions(load_size=c.get("load_size"), n_test=int(c["n_test_samples"]), photo_domain=c["photo_domain"],
                         style_margin=float(c.get("style_margin") or 0.0), per_domain=int(c["scenes_per_domain"]))


# ----- the model --------------------------------------------------------------------------------------------------
class CycleGAN(Translator, GenerativeModel):
    family = "cyclegan"
    capabilities = frozenset({TRANSLATOR})
    net_names = ("g_ab", "g_ba", "d_a", "d_b")
    image_keys = ("a", "b")
    data_kind = "domains"  # keras_gans.data.source.load_domains: trainA/ trainB/ or the built-in scenes
    tracker_names = (
        "g_loss", "d_loss", "adv_a2b_loss", "adv_b2a_loss", "cycle_a_loss", "cycle_b_loss", "idt_a_loss",
        "idt_b_loss", "d_a_loss", "d_b_loss", "d_real", "d_fake", "g_grad_norm", "d_grad_norm", "lr",
    )

    def active_trackers(self, cfg):
        names = list(self.tracker_names)
        if not cfg["cyclegan"]["lambda_identity"]:
            names = [n for n in names if not n.startswith("idt_")]
        if cfg["augment"]["adaptive"] and cfg["augment"]["policy"]:
            names += ["aug_p_a", "aug_p_b", "ada_rt_a", "ada_rt_b"]
        return names

    @classmethod
    def from_config(cls, cfg: dict, data_info: dict):
        """The one place CycleGAN is built from its config: two ResNet generators and two PatchGANs from the nets
        registry, two optimizers from the one factory (their learning rates decay linearly at the end)."""
        c, t = cfg["cyclegan"], cfg["train"]
        std = cfg["net"]["weights_init"] or 0.02
        shape = tuple(data_info["image_shape"])
        gk = dict(filters=c["g_filters"], n_blocks=c["n_blocks"], norm=c["norm"], init_std=std,
                  upsample=c.get("upsample", "transpose"))
        dk = dict(filters=c["d_filters"], n_layers=c["d_layers"], norm=c["norm"], init_std=std)
        steps = int(data_info.get("steps_per_epoch") or 1)
        return cls(
            cfg, data_info,
            g_ab=build_image_net("resnet", shape, name="g_a2b", **gk),
            g_ba=build_image_net("resnet", shape, name="g_b2a", **gk),
            d_a=build_image_net("patchgan", shape, name="d_a", **dk),
            d_b=build_image_net("patchgan", shape, name="d_b", **dk),
            g_optimizer=from_train_config(t, lr_schedule(cfg, t["g_lr"], steps)),
            d_optimizer=from_train_config(t, lr_schedule(cfg, t["d_lr"], steps)),
        )

    def __init__(self, cfg: dict, data_info: dict, *, g_ab, g_ba, d_a, d_b, g_optimizer, d_optimizer, **kwargs):
        super().__init__(cfg, data_info, **kwargs)
        c = cfg["cyclegan"]
        self.lambda_cycle = float(c["lambda_cycle"])
        self.lambda_identity = float(c["lambda_identity"])
        self.pool_size = int(c["pool_size"])
        shape = self.image_shape
        # cyclegan.load_size: the data arrive stored larger and every step trains on random image_size crops
        self.crop_size = int(shape[0]) if (c.get("load_size") or shape[0]) > shape[0] else None
        self.work_size = cfg_work_size(cfg)
        self.g_ab, self.g_ba, self.d_a, self.d_b = g_ab, g_ba, d_a, d_b
        # augment: every image D_a / D_b sees (reals, pooled fakes, G's fakes) goes through the same DiffAugment;
        # the adaptive p is kept per discriminator, since the two domains (e.g. 377 prints, 450 photos) are
        # memorised at different rates.
        self.augmenter = augment.Augmenter(cfg["augment"])
        if self.augmenter.adaptive:
            self.aug_p_a = self.augmenter.p_variable(self, "aug_p_a")
            self.aug_p_b = self.augmenter.p_variable(self, "aug_p_b")
        else:
            self.aug_p_a = self.aug_p_b = None
        if self.pool_size:
            pool_shape = (self.pool_size,) + tuple(shape)
            kw = dict(initializer="zeros", trainable=False, aggregation="only_first_replica")
            self.pool_a = self.add_weight(name="pool_a", shape=pool_shape, dtype="float32", **kw)
            self.pool_b = self.add_weight(name="pool_b", shape=pool_shape, dtype="float32", **kw)
            self.pool_a_count = self.add_weight(name="pool_a_count", shape=(), dtype="int64", **kw)
            self.pool_b_count = self.add_weight(name="pool_b_count", shape=(), dtype="int64", **kw)
        self.g_optimizer, self.d_optimizer = g_optimizer, d_optimizer
        samples = data_info.get("samples") or {}
        ch = shape[-1]
        self.sample_a = decode_samples(samples["a"], ch) if samples.get("a") else np.zeros((0,) + tuple(shape), np.uint8)
        self.sample_b = decode_samples(samples["b"], ch) if samples.get("b") else np.zeros((0,) + tuple(shape), np.uint8)

    # ----- data -------------------------------------------------------------------------------------------------
    @classmethod
    def photo_domain(cls, cfg: dict) -> str:
        return cfg["cyclegan"]["photo_domain"]

    @classmethod
    def data_options(cls, cfg: dict) -> DomainOptions:
        return domain_options(cfg["cyclegan"])

    @classmethod
    def prepare_data(cls, cfg: dict, domains: Domains):
        """The arrays {'a', 'b'} and data_info (image shape, domain sizes, steps per epoch, the sample grids' test
        images as PNG text); a family on the same two domains (cut) borrows it."""
        from keras_gans.data.plan import step_plan

        if len(domains.a) == 0 or len(domains.b) == 0:
            raise UserError(f"{cls.family} needs images in both domains; {domains.source} gave {len(domains.a)} A and "
                            f"{len(domains.b)} B images")
        steps = step_plan(cfg, len(domains), cls.real_batches_per_step(cfg)).steps_per_epoch
        size = int(cfg["data"]["image_size"])  # the nets train at image_size (crops of load_size images)
        info = {
            "image_shape": [size, size, int(domains.a.shape[-1])],
            "load_size": int(domains.a.shape[1]),
            "n_images": len(domains),
            "n_a": len(domains.a),
            "n_b": len(domains.b),
            "source": domains.source,
            "steps_per_epoch": steps,
            "samples": {"a": encode_samples(domains.test_a), "b": encode_samples(domains.test_b)},
        }
        return {"a": domains.a, "b": domains.b}, info

    # ----- optimizer plumbing -----------------------------------------------------------------------------------
    def optimizers(self):
        return {"g": self.g_optimizer, "d": self.d_optimizer}

    def generator_variables(self):
        return self.g_ab.trainable_variables + self.g_ba.trainable_variables

    def discriminator_variables(self):
        return self.d_a.trainable_variables + self.d_b.trainable_variables

    def trainable_sets(self):
        return {"g": self.generator_variables(), "d": self.discriminator_variables()}

    # ----- losses -----------------------------------------------------------------------------------------------
    @staticmethod
    def _adv_g(scores):
        """G's LSGAN term as in the paper's code: the mean squared distance of D's patch scores from 1, i.e. twice
        losses.lsgan_g (which carries the 0.5 of the GAN families' LSGAN)."""
        return 2.0 * losses.lsgan_g(scores)

    @staticmethod
    def _l1(x, y):
        return losses.per_example(tf.abs(tf.cast(x, tf.float32) - tf.cast(y, tf.float32)))

    def d_view(self, images, which: str, salt: int, training: bool):
        """What D_a / D_b sees: augmented (augment.policy) while training, the images themselves otherwise."""
        if not (training and self.augmenter.on):
            return images
        return self.augmenter(images, self.uniform, salt, self.aug_p_a if which == "a" else self.aug_p_b)

    def generator_losses(self, real_a, real_b, training: bool = True) -> dict:
        """Per-example loss terms (unweighted), the weighted total 'g_total', and the fakes."""
        fake_b = self.g_ab(real_a, training=training)
        fake_a = self.g_ba(real_b, training=training)
        rec_a = self.g_ba(fake_b, training=training)
        rec_b = self.g_ab(fake_a, training=training)
        out = {
            "fake_a": fake_a, "fake_b": fake_b,
            "adv_a2b_loss": self._adv_g(self.d_b(self.d_view(fake_b, "b", 61, training), training=training)),
            "adv_b2a_loss": self._adv_g(self.d_a(self.d_view(fake_a, "a", 62, training), training=training)),
            "cycle_a_loss": self._l1(rec_a, real_a),
            "cycle_b_loss": self._l1(rec_b, real_b),
        }
        total = out["adv_a2b_loss"] + out["adv_b2a_loss"] + self.lambda_cycle * (out["cycle_a_loss"] + out["cycle_b_loss"])
        if self.lambda_identity:
            out["idt_a_loss"] = self._l1(self.g_ba(real_a, training=training), real_a)
            out["idt_b_loss"] = self._l1(self.g_ab(real_b, training=training), real_b)
            total = total + self.lambda_cycle * self.lambda_identity * (out["idt_a_loss"] + out["idt_b_loss"])
        out["g_total"] = total
        return out

    def discriminator_losses(self, real_a, real_b, fake_a, fake_b, training: bool = True) -> dict:
        real_a, fake_a = self.d_view(real_a, "a", 21, training), self.d_view(fake_a, "a", 31, training)
        real_b, fake_b = self.d_view(real_b, "b", 22, training), self.d_view(fake_b, "b", 32, training)
        ra, rb = self.d_a(real_a, training=training), self.d_b(real_b, training=training)
        fa, fb = self.d_a(fake_a, training=training), self.d_b(fake_b, training=training)
        d_a, d_b = losses.lsgan_d(ra, fa), losses.lsgan_d(rb, fb)  # 0.5 * (mean (D(real) - 1)^2 + mean D(fake)^2)
        mean = losses.per_example
        return {
            "d_a_loss": d_a, "d_b_loss": d_b, "d_total": d_a + d_b,
            "d_real": 0.5 * (mean(ra) + mean(rb)), "d_fake": 0.5 * (mean(fa) + mean(fb)),
            "real_scores_a": ra, "real_scores_b": rb,
        }

    def pooled(self, fakes, which: str, salt: int):
        if not self.pool_size:
            return fakes
        b = tf.shape(fakes)[0]
        pool, count = (self.pool_a, self.pool_a_count) if which == "a" else (self.pool_b, self.pool_b_count)
        return pool_query(pool, count, tf.stop_gradient(fakes), self.uniform([b], salt), self.uniform([b], salt + 1))

    # ----- training ---------------------------------------------------------------------------------------------
    def crops(self, images, salt: int):
        """Random image_size crops of a batch stored at load_size (the batch itself without load_size)."""
        if self.crop_size is None:
            return images
        b = tf.shape(images)[0]
        return random_crops(images, self.crop_size, self.uniform([b], salt), self.uniform([b], salt + 1))

    def step_updates(self, data):
        real_a, real_b = self.crops(data["a"], 201), self.crops(data["b"], 203)

        def g_compute(tape):
            g = self.generator_losses(real_a, real_b, training=True)
            return g["g_total"], g

        g_loss, g_norm, g = self.minimize("g", g_compute)
        fake_a = self.pooled(g["fake_a"], "a", 101)
        fake_b = self.pooled(g["fake_b"], "b", 103)

        def d_compute(tape):
            d = self.discriminator_losses(real_a, real_b, fake_a, fake_b, training=True)
            return d["d_total"], d

        d_loss, d_norm, d = self.minimize("d", d_compute)
        aug_logs = {  # the adaptive p of each D moves with its own r_t (LSGAN: real above 0.5)
            **self.augmenter.adapt(self.aug_p_a, d.pop("real_scores_a"), 0.5, "_a"),
            **self.augmenter.adapt(self.aug_p_b, d.pop("real_scores_b"), 0.5, "_b"),
        }
        logs = {"g_loss": g_loss, "d_loss": d_loss, "g_grad_norm": g_norm, "d_grad_norm": d_norm,
                "lr": tf.cast(self.g_optimizer.learning_rate, tf.float32), **aug_logs}
        for k, v in {**g, **d}.items():
            if k in self.trackers and k not in logs:
                logs[k] = self.reduce(v)
        return logs

    # ----- hooks ------------------------------------------------------------------------------------------------
    def generator_for(self, direction: str):
        if direction not in DIRECTIONS:
            raise UserError(f"direction must be a2b or b2a, got {direction!r}")
        return self.g_ab if direction == "a2b" else self.g_ba

    def generate(self, inputs, training=False):
        """A -> B translation of images in [-1, 1]."""
        return self.g_ab(inputs, training=training)

    def cycle_rows(self):
        """(a, a->b, a->b->a, b, b->a, b->a->b) float images of the stored test images."""
        a, b = from_uint8(self.sample_a), from_uint8(self.sample_b)
        ab = self.g_ab(a, training=False)
        ba = self.g_ba(b, training=False)
        return a, ab, self.g_ba(ab, training=False), b, ba, self.g_ab(ba, training=False)

    def sample_panel(self, n: int):
        """One row per test image pair: A, A->B, A->B->A | B, B->A, B->A->B; the translations are the images."""
        k = min(len(self.sample_a), len(self.sample_b))
        if k == 0:
            blank = np.zeros((1,) + tuple(self.image_shape), np.uint8)
            return make_grid(blank), blank[:0]
        cols = [to_uint8(np.asarray(x)[:k]) for x in self.cycle_rows()]
        tiles = np.stack(cols, axis=1).reshape((-1,) + cols[0].shape[1:])
        return make_grid(tiles, nrow=6, min_cell=self.grid_cell), np.concatenate([cols[1], cols[4]])

    def export_endpoints(self, archive):
        """One SavedModel, both directions: `serving_default` = photo -> style as image bytes (image_bytes string
        [batch] -> PNG image_bytes string [batch]; `a2b_bytes` when cyclegan.photo_domain is A, else `b2a_bytes`),
        `a2b_bytes` / `b2a_bytes`, the uint8 tensor signatures `a2b` / `b2a` (images uint8 [batch, H, W, C], any H
        and W -> images uint8 of the same shape), and `directions` (request int32 [batch] -> json [batch]: which side
        is the photo). cyclegan.export_directions=to_style keeps only photo -> style."""
        both = self.cfg["cyclegan"].get("export_directions", "both") == "both"
        self.add_translator_exports(archive, None if both else (self.direction_meta()["photo2style"],))
