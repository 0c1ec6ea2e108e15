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

import base64
import io

import keras
import numpy as np
import tensorflow as tf

from keras_gans import augment
from keras_gans.errors import UserError
from keras_gans.images import make_grid, to_uint8
from keras_gans.models.base import GenerativeModel
from keras_gans.nets.patchgan import build_patchgan
from keras_gans.nets.resnet import build_resnet_generator

DIRECTIONS = ("a2b", "b2a")


def style_directions(photo_domain: str) -> dict:
    """{'photo2style': 'a2b' | 'b2a', 'style2photo': the other} for the side that holds the photos."""
    to_style = "a2b" if str(photo_domain).upper() == "A" else "b2a"
    return {"photo_domain": str(photo_domain).upper(), "photo2style": to_style,
            "style2photo": "b2a" if to_style == "a2b" else "a2b"}


# ----- learning rate ----------------------------------------------------------------------------------------------
@keras.saving.register_keras_serializable(package="keras_gans")
class LinearDecay(keras.optimizers.schedules.LearningRateSchedule):
    """base_lr until total_steps - decay_steps, then linearly down to exactly 0 at total_steps (the end of the
    last epoch), and 0 after it. decay_steps = 0 keeps the rate constant."""

    def __init__(self, base_lr: float, total_steps: int, decay_steps: int):
        self.base_lr = float(base_lr)
        self.total_steps = int(total_steps)
        self.decay_steps = int(decay_steps)

    def __call__(self, step):
        step = tf.cast(step, tf.float32)
        base = tf.constant(self.base_lr, tf.float32)
        if self.decay_steps <= 0:
            return base
        frac = (float(self.total_steps) - step) / float(self.decay_steps)
        return base * tf.clip_by_value(frac, 0.0, 1.0)

    def get_config(self):
        return {"base_lr": self.base_lr, "total_steps": self.total_steps, "decay_steps": self.decay_steps}


def decay_epochs(cfg: dict) -> int:
    de = cfg["cyclegan"]["decay_epochs"]
    return int(de) if de is not None else (int(cfg["train"]["epochs"]) + 1) // 2


def lr_schedule(cfg: dict, base_lr: float, steps_per_epoch: int) -> LinearDecay:
    epochs = int(cfg["train"]["epochs"])
    return LinearDecay(base_lr, epochs * steps_per_epoch, decay_epochs(cfg) * steps_per_epoch)


def make_cycle_optimizer(cfg: dict, lr: float, steps_per_epoch: int):
    t = cfg["train"]
    sched = lr_schedule(cfg, lr, steps_per_epoch)
    if t["optimizer"] == "adam":
        opt = keras.optimizers.Adam(sched, beta_1=t["beta_1"], beta_2=t["beta_2"])
    elif t["optimizer"] == "rmsprop":
        opt = keras.optimizers.RMSprop(sched)
    else:
        raise UserError(f"unknown optimizer '{t['optimizer']}' (adam or rmsprop)")
    return keras.optimizers.LossScaleOptimizer(opt) if t.get("mixed_precision") == "mixed_float16" else opt


# ----- image history pool -----------------------------------------------------------------------------------------
def pool_query(pool, count, images, u_swap, u_index):
    """The CycleGAN image pool, one image at a time: while the pool is not full each image is stored and returned;
    once full, with probability 0.5 (u_swap > 0.5) a random stored image (slot floor(u_index * size)) is returned
    and replaced by the new one, else the new image is returned. pool: variable [size, H, W, C]; count: int64
    variable (images stored so far, capped at size); u_swap, u_index: uniform [0, 1) draws, one per image."""
    size = int(pool.shape[0])
    images = tf.cast(images, pool.dtype)
    b = tf.shape(images)[0]

    def body(i, out):
        img = images[i]
        n = tf.convert_to_tensor(count)

        def store():
            pool.assign(tf.tensor_scatter_nd_update(tf.convert_to_tensor(pool), tf.reshape(n, [1, 1]), img[None]))
            count.assign_add(1)
            return tf.identity(img)

        def swap():
            j = tf.minimum(tf.cast(u_index[i] * size, tf.int64), size - 1)
            current = tf.convert_to_tensor(pool)
            old = tf.gather(current, j)
            with tf.control_dependencies([old]):
                pool.assign(tf.tensor_scatter_nd_update(current, tf.reshape(j, [1, 1]), img[None]))
            return tf.identity(old)

        def keep_or_swap():
            return tf.cond(u_swap[i] > 0.5, swap, lambda: tf.identity(img))

        res = tf.cond(n < size, store, keep_or_swap)
        return i + 1, out.write(i, res)

    out = tf.TensorArray(pool.dtype, size=b, element_shape=images.shape[1:])
    _, out = tf.while_loop(lambda i, _: i < b, body, [tf.constant(0), out])
    result = out.stack()
    result.set_shape(images.shape)
    return result


# ----- transfer at any size ---------------------------------------------------------------------------------------
def working_size(h, w, size: int, max_ratio: float = 4.0):
    """The size G runs at for an h x w input: shorter side = the training size (so strokes have the scale G learned),
    aspect kept, the longer side capped at max_ratio * size, both rounded to a multiple of 4."""
    h = tf.cast(h, tf.float32)
    w = tf.cast(w, tf.float32)
    scale = tf.minimum(size / tf.minimum(h, w), max_ratio * size / tf.maximum(h, w))
    nh = tf.maximum(4, tf.cast(tf.round(h * scale / 4.0), tf.int32) * 4)
    nw = tf.maximum(4, tf.cast(tf.round(w * scale / 4.0), tf.int32) * 4)
    return nh, nw


def transfer_images(g, images_u8, size: int):
    """uint8 [B, H, W, C] of any H, W -> uint8 [B, H, W, C]: resized (bilinear, antialiased) to the working size,
    translated by G, resized back to H x W. An input already at the working size is not resampled at all."""
    images_u8 = tf.convert_to_tensor(images_u8)
    shape = tf.shape(images_u8)
    h, w = shape[1], shape[2]
    nh, nw = working_size(h, w, size)
    x = tf.cast(images_u8, tf.float32) / 127.5 - 1.0
    same = tf.logical_and(tf.equal(nh, h), tf.equal(nw, w))
    x_in = tf.cond(same, lambda: x, lambda: tf.image.resize(x, tf.stack([nh, nw]), "bilinear", antialias=True))
    y = tf.cast(g(x_in, training=False), tf.float32)
    y = tf.cond(same, lambda: y, lambda: tf.image.resize(y, tf.stack([h, w]), "bilinear", antialias=True))
    y = tf.round((tf.clip_by_value(y, -1.0, 1.0) + 1.0) * 127.5)
    return tf.cast(y, tf.uint8)


# ----- data -------------------------------------------------------------------------------------------------------
def _encode_samples(images: np.ndarray) -> list[str]:
    from keras_gans.images import encode_png

    return [base64.b64encode(encode_png(im)).decode("ascii") for im in images]


def _decode_samples(items: list[str], channels: int) -> np.ndarray:
    from PIL import Image

    arrays = []
    for s in items:
        a = np.asarray(Image.open(io.BytesIO(base64.b64decode(s))))
        arrays.append(a[..., None] if a.ndim == 2 else a[..., :channels])
    return np.stack(arrays).astype(np.uint8)


# ----- the model --------------------------------------------------------------------------------------------------
class CycleGAN(GenerativeModel):
    family = "cyclegan"
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

    def __init__(self, cfg: dict, data_info: dict, **kwargs):
        super().__init__(cfg, data_info, **kwargs)
        c, t = cfg["cyclegan"], cfg["train"]
        self.lambda_cycle = float(c["lambda_cycle"])
        self.lambda_identity = float(c["lambda_identity"])
        self.pool_size = int(c["pool_size"])
        std = cfg["net"]["weights_init"] or 0.02
        shape = self.image_shape
        gk = dict(filters=c["g_filters"], n_blocks=c["n_blocks"], norm=c["norm"], init_std=std)
        dk = dict(filters=c["d_filters"], n_layers=c["d_layers"], norm=c["norm"], init_std=std)
        self.g_ab = build_resnet_generator(shape, name="g_a2b", **gk)
        self.g_ba = build_resnet_generator(shape, name="g_b2a", **gk)
        self.d_a = build_patchgan(shape, name="d_a", **dk)
        self.d_b = build_patchgan(shape, name="d_b", **dk)
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
        steps = int(data_info.get("steps_per_epoch") or 1)
        self.g_optimizer = make_cycle_optimizer(cfg, t["g_lr"], steps)
        self.d_optimizer = make_cycle_optimizer(cfg, t["d_lr"], steps)
        samples = data_info.get("samples") or {}
        ch = shape[-1]
        self.sample_a = _decode_samples(samples["a"], ch) if samples.get("a") else np.zeros((0,) + tuple(shape), np.uint8)
        self.sample_b = _decode_samples(samples["b"], ch) if samples.get("b") else np.zeros((0,) + tuple(shape), np.uint8)

    # ----- data -------------------------------------------------------------------------------------------------
    @classmethod
    def prepare_data(cls, cfg: dict, domains: Domains):
        from keras_gans.data.plan import step_plan

        if len(domains.a) == 0 or len(domains.b) == 0:
            raise UserError(f"cyclegan needs images in both domains; {domains.source} gave {len(domains.a)} A and "
                            f"{len(domains.b)} B images")
        steps = step_plan(cfg, len(domains)).steps_per_epoch
        info = {
            "image_shape": list(domains.a.shape[1:]),
            "n_images": len(domains),
            "n_a": len(domains.a),
            "n_b": len(domains.b),
            "source": domains.source,
            "steps_per_epoch": steps,
            "samples": {"a": _encode_samples(domains.test_a), "b": _encode_samples(domains.test_b)},
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
    def _mse_to(scores, target: float):
        s = tf.cast(scores, tf.float32)
        return tf.reduce_mean(tf.square(s - target), axis=[1, 2, 3])

    @staticmethod
    def _l1(x, y):
        return tf.reduce_mean(tf.abs(tf.cast(x, tf.float32) - tf.cast(y, tf.float32)), axis=[1, 2, 3])

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
            "adv_a2b_loss": self._mse_to(self.d_b(self.d_view(fake_b, "b", 61, training), training=training), 1.0),
            "adv_b2a_loss": self._mse_to(self.d_a(self.d_view(fake_a, "a", 62, training), training=training), 1.0),
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
        d_a = 0.5 * (self._mse_to(ra, 1.0) + self._mse_to(fa, 0.0))
        d_b = 0.5 * (self._mse_to(rb, 1.0) + self._mse_to(fb, 0.0))
        mean = lambda s: tf.reduce_mean(tf.cast(s, tf.float32), axis=[1, 2, 3])  # noqa: E731
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
    def train_step(self, data):
        real_a, real_b = data["a"], data["b"]
        with tf.GradientTape() as tape:
            g = self.generator_losses(real_a, real_b, training=True)
            g_loss = self.reduce(g["g_total"])
        g_norm = self.apply_update(tape, g_loss, self.generator_variables(), self.g_optimizer)
        fake_a = self.pooled(g["fake_a"], "a", 101)
        fake_b = self.pooled(g["fake_b"], "b", 103)
        with tf.GradientTape() as tape:
            d = self.discriminator_losses(real_a, real_b, fake_a, fake_b, training=True)
            d_loss = self.reduce(d["d_total"])
        d_norm = self.apply_update(tape, d_loss, self.discriminator_variables(), self.d_optimizer)
        aug_logs = {  # the adaptive p of each D moves with its own r_t (LSGAN: real above 0.5)
            **self.augmenter.adapt(self.aug_p_a, d.pop("real_scores_a"), 0.5, "_a"),
            **self.augmenter.adapt(self.aug_p_b, d.pop("real_scores_b"), 0.5, "_b"),
        }
        self.step_counter.assign_add(1)
        logs = {"g_loss": g_loss, "d_loss": d_loss, "g_grad_norm": g_norm, "d_grad_norm": d_norm,
                "lr": tf.cast(self.g_optimizer.learning_rate, tf.float32), **aug_logs}
        for k, v in {**g, **d}.items():
            if k in self.trackers and k not in logs:
                logs[k] = self.reduce(v)
        return self.update_trackers(logs)

    # ----- hooks ------------------------------------------------------------------------------------------------
    def generator_for(self, direction: str):
        if direction not in DIRECTIONS:
            raise UserError(f"direction must be a2b or b2a, got {direction!r}")
        return self.g_ab if direction == "a2b" else self.g_ba

    def generate(self, inputs, training=False):
        """A -> B translation of images in [-1, 1]."""
        return self.g_ab(inputs, training=training)

    def transfer(self, images_u8, direction: str = "a2b") -> np.ndarray:
        """uint8 images [B, H, W, C] of any size -> translated uint8 images of the same size (as the export)."""
        return transfer_images(self.generator_for(direction), images_u8, self.image_shape[0]).numpy()

    def cycle_rows(self):
        """(a, a->b, a->b->a, b, b->a, b->a->b) float images of the stored test images."""
        def f(x):
            return tf.cast(x, tf.float32) / 127.5 - 1.0

        a, b = f(self.sample_a), f(self.sample_b)
        ab = self.g_ab(a, training=False)
        ba = self.g_ba(b, training=False)
        return a, ab, self.g_ba(ab, training=False), b, ba, self.g_ab(ba, training=False)

    def sample_grid(self, n: int) -> np.ndarray:
        """One row per test image pair: A, A->B, A->B->A | B, B->A, B->A->B."""
        k = min(len(self.sample_a), len(self.sample_b))
        if k == 0:
            return make_grid(np.zeros((1,) + tuple(self.image_shape), np.uint8))
        cols = [to_uint8(np.asarray(x)[:k]) for x in self.cycle_rows()]
        self.last_sample_images = np.concatenate([cols[1], cols[4]])
        tiles = np.stack(cols, axis=1).reshape((-1,) + cols[0].shape[1:])
        return make_grid(tiles, nrow=6)

    def sample_from_seeds(self, seeds, **conditions):
        raise UserError("a cyclegan run translates images instead of sampling noise; use `python cli.py transfer`")

    def evaluation_samples(self, n: int, seed: int = 0, batch_size: int = 256):
        raise UserError("a cyclegan run translates images instead of sampling noise; use `python cli.py transfer`")

    def export_endpoints(self, archive, uint8_fn, png_fn):
        """One SavedModel, both directions: `serving_default` = photo -> style as image bytes (image_bytes string
        [batch] -> PNG image_bytes string [batch]; `a2b_bytes` when cyclegan.photo_domain is A, else `b2a_bytes`),
        `a2b_bytes` / `b2a_bytes`, the uint8 tensor signatures `a2b` / `b2a` (images uint8 [batch, H, W, C], any H
        and W -> images uint8 of the same shape), and `directions` (no input -> json: which side is the photo)."""
        import json

        size, ch = int(self.image_shape[0]), int(self.image_shape[-1])
        meta = style_directions(self.cfg["cyclegan"].get("photo_domain", "A"))
        both = self.cfg["cyclegan"].get("export_directions", "both") == "both"
        for direction in DIRECTIONS if both else (meta["photo2style"],):
            tensor_fn, bytes_fn = _transfer_endpoints(self.generator_for(direction), size, ch)
            archive.add_endpoint(direction, tensor_fn, [tf.TensorSpec([None, None, None, ch], tf.uint8, name="images")])
            archive.add_endpoint(f"{direction}_bytes", bytes_fn, [tf.TensorSpec([None], tf.string, name="image_bytes")])
            if direction == meta["photo2style"]:
                archive.add_endpoint("serving_default", bytes_fn, [tf.TensorSpec([None], tf.string, name="image_bytes")])
        text = json.dumps({**meta, "image_size": size, "name": self.cfg["name"]})
        archive.add_endpoint("directions", lambda: {"json": tf.constant(text)}, [])


def _transfer_endpoints(g, size: int, ch: int):
    """(uint8 tensor fn, image-bytes fn) for one generator (closures: tf.function must see only tensor args)."""

    def tensor_fn(images):
        return {"images": transfer_images(g, images, size)}

    def bytes_fn(image_bytes):
        def one(data):
            img = tf.io.decode_image(data, channels=ch, expand_animations=False)
            return tf.io.encode_png(transfer_images(g, img[None], size)[0])

        return {"image_bytes": tf.map_fn(one, image_bytes, fn_output_signature=tf.TensorSpec([], tf.string))}

    return tensor_fn, bytes_fn
