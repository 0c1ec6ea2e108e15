"""CUT and FastCUT (Park, Efros, Zhang & Zhu 2020): unpaired translation with one generator, one discriminator and a
contrastive loss instead of a second generator and a cycle.

G (the CycleGAN ResNet generator) translates the photo domain into the style domain (cut.photo_domain names the
photo side, as for cyclegan); D is the 70x70 PatchGAN. One train step:

1. G update (G and the MLP heads F, one Adam): LSGAN adversarial term (D(G(x)) -> 1) plus lambda_nce times the
   PatchNCE loss: the features of G's encoder layers (cut.nce_layers) on the input x (keys) and on the output G(x)
   (queries) are sampled at the same num_patches positions per layer, each passed through its layer's MLP head and
   L2-normalised, and each output patch must pick its own input patch out of the image's other patches
   (temperature cut.nce_temperature); the loss is averaged over the layers. CUT adds the identity term on the
   target domain, NCE(G(y), y), and weights the two by 1/2 each; FastCUT drops it, puts 10 on the PatchNCE loss
   and flips G's input in half of the steps (its features flipped back before they are compared).
2. D update: 0.5 * LSGAN loss on the target images and on G's outputs (no image pool, as in the reference).

The learning rate follows cyclegan's schedule (constant, then linearly to 0 over cut.decay_epochs); data, crops
(cut.load_size), working size and export are cyclegan's. The export has one direction, photo -> style: the
signatures `<direction>`, `<direction>_bytes`, `serving_default` (= the bytes one) and `directions`, exactly those
of a cyclegan export made with export_directions: to_style.
"""

from __future__ import annotations

import numpy as np
import tensorflow as tf

from keras_gans.parts import augment, losses
from keras_gans.core.errors import UserError
from keras_gans.core.images import from_uint8, make_grid, to_uint8
from keras_gans.models.base import GenerativeModel
from keras_gans.models.capabilities import TRANSLATOR
from keras_gans.models.cut_config import settings
from keras_gans.models.cyclegan import CycleGAN, domain_options, lr_schedule
from keras_gans.models.cyclegan_config import work_size as cfg_work_size
from keras_gans.models.translator import Translator, decode_samples, style_directions
from keras_gans.nets import build_image_net
from keras_gans.nets.patchnce import build_patch_heads, encoder_taps, patch_ids, patch_nce, sample_patches
from keras_gans.parts.optimizers import from_train_config
from keras_gans.parts.translate import transfer_images


class CUT(Translator, GenerativeModel):
    family = "cut"
    capabilities = frozenset({TRANSLATOR})
    net_names = ("g", "d", "heads")
    image_keys = ("a", "b")
    data_kind = "domains"  # the same two unpaired domains as cyclegan (trainA/ trainB/ or the built-in scenes)
    tracker_names = ("g_loss", "d_loss", "adv_loss", "nce_loss", "nce_idt_loss", "d_real", "d_fake",
                     "g_grad_norm", "d_grad_norm", "lr")

    def active_trackers(self, cfg):
        names = list(self.tracker_names)
        if not settings(cfg["cut"])["nce_idt"]:
            names.remove("nce_idt_loss")
        if cfg["augment"]["adaptive"] and cfg["augment"]["policy"]:
            names += ["aug_p", "ada_rt"]
        return names

    # the arrays {'a', 'b'} and data_info of two unpaired domains, exactly as cyclegan's
    prepare_data = classmethod(CycleGAN.prepare_data.__func__)

    @classmethod
    def photo_domain(cls, cfg: dict) -> str:
        return cfg["cut"]["photo_domain"]

    @classmethod
    def data_options(cls, cfg: dict):
        return domain_options(cfg["cut"])

    @classmethod
    def from_config(cls, cfg: dict, data_info: dict):
        """The one place CUT is built from its config: G (photo -> style) and D from the nets registry, one MLP head
        per NCE layer, two optimizers from the one factory (their learning rates decay linearly at the end)."""
        c, t = cfg["cut"], cfg["train"]
        std = cfg["net"]["weights_init"] or 0.02
        shape = tuple(data_info["image_shape"])
        direction = style_directions(c["photo_domain"])["photo2style"]
        g = build_image_net("resnet", shape, filters=c["g_filters"], n_blocks=c["n_blocks"], norm=c["norm"],
                            init_std=std, upsample=c["upsample"], name=f"g_{direction}")
        d = build_image_net("patchgan", shape, filters=c["d_filters"], n_layers=c["d_layers"], norm=c["norm"],
                            init_std=std, name="d")
        steps = int(data_info.get("steps_per_epoch") or 1)
        return cls(cfg, data_info, g=g, d=d,
                   g_optimizer=from_train_config(t, lr_schedule(cfg, t["g_lr"], steps, "cut")),
                   d_optimizer=from_train_config(t, lr_schedule(cfg, t["d_lr"], steps, "cut")))

    def __init__(self, cfg: dict, data_info: dict, *, g, d, g_optimizer, d_optimizer, **kwargs):
        super().__init__(cfg, data_info, **kwargs)
        c = cfg["cut"]
        s = settings(c)
        self.lambda_nce, self.nce_idt, self.flip_equivariance = float(s["lambda_nce"]), s["nce_idt"], s["flip_equivariance"]
        self.nce_layers = list(c["nce_layers"])
        self.num_patches = int(c["num_patches"])
        self.temperature = float(c["nce_temperature"])
        self.direction = style_directions(c["photo_domain"])["photo2style"]  # G: photo -> style
        self.translator_directions = (self.direction,)  # CUT has no way back
        self.source_key, self.target_key = ("a", "b") if self.direction == "a2b" else ("b", "a")
        shape = self.image_shape
        self.crop_size = int(shape[0]) if (c.get("load_size") or shape[0]) > shape[0] else None
        self.work_size = cfg_work_size(cfg, "cut")
        self.g, self.d = g, d
        self.taps = encoder_taps(self.g, self.nce_layers)  # G's encoder, up to its deepest NCE layer
        self.g_and_taps = encoder_taps(self.g, [self.g.layers[-1].name] + self.nce_layers, name="g_and_taps")
        self.heads = build_patch_heads([int(x.shape[-1]) for x in self.taps.outputs], int(c["head_units"]))
        self.augmenter = augment.Augmenter(cfg["augment"])
        self.aug_p = self.augmenter.p_variable(self, "aug_p") if self.augmenter.adaptive else None
        self.g_optimizer, self.d_optimizer = g_optimizer, d_optimizer
        samples = data_info.get("samples") or {}
        empty = np.zeros((0,) + tuple(shape), np.uint8)
        self.sample_src = decode_samples(samples[self.source_key], shape[-1]) if samples.get(self.source_key) else empty
        self.sample_tgt = decode_samples(samples[self.target_key], shape[-1]) if samples.get(self.target_key) else empty

    # ----- optimizer plumbing -----------------------------------------------------------------------------------
    def optimizers(self):
        return {"g": self.g_optimizer, "d": self.d_optimizer}

    def trainable_sets(self):  # the heads learn with G (one Adam: the reference's separate Adam with the same settings)
        return {"g": self.g.trainable_variables + self.heads.trainable_variables, "d": self.d.trainable_variables}

    # ----- losses -----------------------------------------------------------------------------------------------
    def d_view(self, images, salt: int, training: bool):
        """What D sees: augmented (augment.policy) while training, the images themselves otherwise."""
        if not (training and self.augmenter.on):
            return images
        return self.augmenter(images, self.uniform, salt, self.aug_p)

    def sample_pairs(self, feats_q, feats_k, salt: int):
        """([B, P, C] per layer of the queries, the same of the keys): at each layer one set of num_patches
        positions, drawn from the step's noise, cut from both maps."""
        qs, ks = [], []
        for i, (fq, fk) in enumerate(zip(feats_q, feats_k)):
            h, w = fk.shape[1], fk.shape[2]
            hw = h * w if h is not None and w is not None else tf.shape(fk)[1] * tf.shape(fk)[2]
            ids = patch_ids(hw, self.num_patches, self.uniform([1, hw], salt + i)[0])
            qs.append(sample_patches(fq, ids))
            ks.append(sample_patches(fk, ids))
        return qs, ks

    def nce(self, feats_q, feats_k, salt: int):
        """PatchNCE per example ([B]), averaged over the layers: the sampled patches of each layer (the same
        positions for queries and keys) go through that layer's head, then `patch_nce`."""
        qs, ks = self.sample_pairs(feats_q, feats_k, salt)
        b = tf.shape(qs[0])[0]

        def heads(xs):  # [B, P, C] per layer -> the heads' [B * P, units] -> [B, P, units]
            out = self.heads([tf.reshape(x, tf.stack([-1, tf.shape(x)[-1]])) for x in xs])
            return [tf.reshape(o, tf.stack([b, -1, o.shape[-1]])) for o in out]

        per_layer = [patch_nce(q, k, self.temperature) for q, k in zip(heads(qs), heads(ks))]
        return tf.add_n(per_layer) / float(len(per_layer))

    def generator_losses(self, src, tgt, training: bool = True) -> dict:
        """Per-example loss terms (unweighted: adv_loss, nce_loss, nce_idt_loss), the weighted total 'g_total' and
        the output 'fake' (G(src))."""
        n = tf.shape(src)[0]
        x = tf.concat([src, tgt], 0) if self.nce_idt else src
        if training and self.flip_equivariance:  # G sees x flipped in half of the steps; keys come from x itself
            flip = self.uniform([1], 71)[0] < 0.5
            out = self.g(tf.where(flip, tf.reverse(x, [2]), x), training=training)
            keys = self.taps(x, training=training)
            queries = [tf.where(flip, tf.reverse(f, [2]), f) for f in self.taps(out, training=training)]
        else:
            out, *keys = self.g_and_taps(x, training=training)
            queries = self.taps(out, training=training)
        keys = [tf.stop_gradient(f) for f in keys]
        nce = self.nce(queries, keys, salt=80)
        fake = out[:n]
        result = {"fake": fake, "nce_loss": nce[:n],
                  "adv_loss": 2.0 * losses.lsgan_g(self.d(self.d_view(fake, 61, training), training=training))}
        nce_term = result["nce_loss"]
        if self.nce_idt:
            result["nce_idt_loss"] = nce[n:]
            nce_term = 0.5 * (nce_term + result["nce_idt_loss"])
        result["g_total"] = result["adv_loss"] + self.lambda_nce * nce_term
        return result

    def discriminator_losses(self, tgt, fake, training: bool = True) -> dict:
        real_scores = self.d(self.d_view(tgt, 21, training), training=training)
        fake_scores = self.d(self.d_view(fake, 31, training), training=training)
        mean = losses.per_example
        return {"d_total": losses.lsgan_d(real_scores, fake_scores), "d_real": mean(real_scores),
                "d_fake": mean(fake_scores), "real_scores": real_scores}

    # ----- training ---------------------------------------------------------------------------------------------
    crops = CycleGAN.crops  # random image_size crops of a batch stored at cut.load_size, as cyclegan's

    def step_updates(self, data):
        src, tgt = self.crops(data[self.source_key], 201), self.crops(data[self.target_key], 203)

        def g_compute(tape):
            g = self.generator_losses(src, tgt, training=True)
            return g["g_total"], g

        g_loss, g_norm, g = self.minimize("g", g_compute)
        fake = tf.stop_gradient(g.pop("fake"))

        def d_compute(tape):
            d = self.discriminator_losses(tgt, fake, training=True)
            return d["d_total"], d

        d_loss, d_norm, d = self.minimize("d", d_compute)
        logs = {"g_loss": g_loss, "d_loss": d_loss, "g_grad_norm": g_norm, "d_grad_norm": d_norm,
                "lr": tf.cast(self.g_optimizer.learning_rate, tf.float32),
                **self.augmenter.adapt(self.aug_p, d.pop("real_scores"), 0.5, "")}
        for k, v in {**g, **d}.items():
            if k in self.trackers and k not in logs:
                logs[k] = self.reduce(v)
        return logs

    # ----- hooks ------------------------------------------------------------------------------------------------
    def generator_for(self, direction: str):
        if direction != self.direction:
            raise UserError(f"this cut model translates {self.direction} only (photo -> style: cut.photo_domain is "
                            f"{self.cfg['cut']['photo_domain']}), not {direction!r}")
        return self.g

    def generate(self, inputs, training=False):
        """Photo -> style translation of images in [-1, 1]."""
        return self.g(inputs, training=training)

    def transfer(self, images_u8, direction: str | None = None, work_size: int | None = None) -> np.ndarray:
        """uint8 images [B, H, W, C] of any size -> translated uint8 images of the same size (as the export), G run
        at the working size (shorter side = cut.work_size, or the given one); direction: photo -> style only."""
        g = self.generator_for(direction or self.direction)
        return transfer_images(g, images_u8, int(work_size or self.work_size)).numpy()

    def sample_panel(self, n: int):
        """One row per test pair: photo, G(photo) | style image, G(style image) (what the identity term keeps)."""
        k = min(len(self.sample_src), len(self.sample_tgt))
        if k == 0:
            blank = np.zeros((1,) + tuple(self.image_shape), np.uint8)
            return make_grid(blank), blank[:0]
        src, tgt = from_uint8(self.sample_src[:k]), from_uint8(self.sample_tgt[:k])
        cols = [to_uint8(np.asarray(x)) for x in (src, self.g(src, training=False), tgt, self.g(tgt, training=False))]
        tiles = np.stack(cols, axis=1).reshape((-1,) + cols[0].shape[1:])
        return make_grid(tiles, nrow=4, min_cell=self.grid_cell), cols[1]

    def export_endpoints(self, archive):
        """photo -> style only: `<direction>` (images uint8 [batch, H, W, C], any H and W -> the same shape),
        `<direction>_bytes` and `serving_default` (image_bytes string [batch] -> PNG image_bytes [batch]), and
        `directions` (request int32 [batch] -> json [batch]), as a cyclegan export with export_directions: to_style."""
        self.add_translator_exports(archive)
