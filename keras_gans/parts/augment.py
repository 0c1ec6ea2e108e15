"""Differentiable augmentation of every image D sees: DiffAugment (Zhao et al. 2020) and an adaptive probability
in the manner of ADA (Karras et al. 2020).

Why: on a few thousand images D memorises the training set and stops teaching G. Augmenting *both* real and fake
images, in D's update and in G's, with ops that gradients pass through, lets D see more distinct images without
G learning to produce augmented ones (the augmentations are applied to G's output, so G is graded on images that
went through the same transform as the real ones).

The ops work on images in [-1, 1], NHWC, any batch, and take their randomness from a `uniform(shape, salt)`
function (the model's stateless noise), so a resumed run replays the same augmentations.

- ``color``: brightness (+U(-0.5, 0.5)), saturation (x U(0, 2)) and contrast (x U(0.5, 1.5)) per image;
- ``translation``: shift by up to ``ratio`` of the size (integer pixels, zero padding), per image;
- ``cutout``: zero a square of ``ratio`` of the size at a random place, per image.

With ``p < 1`` each op is applied to each image with probability p (ADA's per-sample skip); the adaptive mode
moves p after every D update by ``sign(r_t - target) * batch / ada_images``, where r_t = E[sign(D(x_real) - thr)]
(Karras et al.'s r_t heuristic; +1 when D calls every real image real, -1 when it calls none): D winning on the
reals -> more augmentation, D losing -> less. `Augmenter` binds the config section to a model; GAN (and the
conditional models through it) and CycleGAN (one p per discriminator) hold one.
"""

from __future__ import annotations

import warnings

import tensorflow as tf

POLICIES = ("color", "translation", "cutout")
COLOUR_WORDS = ("hair", "eye", "colour", "color")
COLOUR_NAMES = {"red", "green", "blue", "yellow", "black", "white", "gray", "grey", "brown", "pink", "purple",
                "orange", "aqua", "blonde", "cyan"}


def parse_policy(policy) -> tuple[str, ...]:
    """'translation,cutout' | ['translation', 'cutout'] | '' / None -> a tuple of known op names."""
    if policy in (None, "", "none", False):
        return ()
    items = policy.split(",") if isinstance(policy, str) else list(policy)
    names = tuple(str(p).strip() for p in items if str(p).strip())
    bad = [n for n in names if n not in POLICIES]
    if bad:
        from keras_gans.core.errors import UserError

        raise UserError(f"augment.policy: unknown op(s) {', '.join(bad)}; choose from {', '.join(POLICIES)}")
    return names


def _per_image(uniform, x, salt):
    return uniform([tf.shape(x)[0], 1, 1, 1], salt)


def color(x, uniform, salt: int):
    dt = x.dtype
    x = tf.cast(x, tf.float32)
    x = x + (_per_image(uniform, x, salt) - 0.5)
    mean = tf.reduce_mean(x, axis=-1, keepdims=True)
    x = (x - mean) * (_per_image(uniform, x, salt + 1) * 2.0) + mean
    mean = tf.reduce_mean(x, axis=[1, 2, 3], keepdims=True)
    x = (x - mean) * (_per_image(uniform, x, salt + 2) + 0.5) + mean
    return tf.cast(x, dt)


def translation(x, uniform, salt: int, ratio: float = 0.125):
    """Shift each image by integer (dy, dx) in [-ratio*H, ratio*H]; pixels shifted in are 0 (gathered, so the
    gradient flows to the pixels that stay)."""
    b, h, w = tf.shape(x)[0], tf.shape(x)[1], tf.shape(x)[2]
    sh = tf.cast(tf.cast(h, tf.float32) * ratio + 0.5, tf.int32)
    sw = tf.cast(tf.cast(w, tf.float32) * ratio + 0.5, tf.int32)
    u = uniform([b, 2], salt)
    dy = tf.cast(tf.floor(u[:, 0] * tf.cast(2 * sh + 1, tf.float32)), tf.int32) - sh
    dx = tf.cast(tf.floor(u[:, 1] * tf.cast(2 * sw + 1, tf.float32)), tf.int32) - sw
    # Pad by one zero pixel on each side; indices that fall outside land on the padding.
    padded = tf.pad(x, [[0, 0], [1, 1], [1, 1], [0, 0]])
    gy = tf.clip_by_value(tf.range(h)[None, :] - dy[:, None] + 1, 0, h + 1)  # [b, h]
    gx = tf.clip_by_value(tf.range(w)[None, :] - dx[:, None] + 1, 0, w + 1)  # [b, w]
    rows = tf.gather(padded, gy, axis=1, batch_dims=1)  # [b, h, w+2, c]
    return tf.gather(rows, gx, axis=2, batch_dims=1)


def cutout(x, uniform, salt: int, ratio: float = 0.5):
    """Zero one (ratio*H) x (ratio*W) square per image, centred anywhere (it may hang over the edge)."""
    b, h, w = tf.shape(x)[0], tf.shape(x)[1], tf.shape(x)[2]
    ch = tf.cast(tf.cast(h, tf.float32) * ratio + 0.5, tf.int32)
    cw = tf.cast(tf.cast(w, tf.float32) * ratio + 0.5, tf.int32)
    u = uniform([b, 2], salt)
    cy = tf.cast(tf.floor(u[:, 0] * tf.cast(h + (1 - ch % 2), tf.float32)), tf.int32)
    cx = tf.cast(tf.floor(u[:, 1] * tf.cast(w + (1 - cw % 2), tf.float32)), tf.int32)
    ys = tf.range(h)[None, :] - (cy[:, None] - ch // 2)  # [b, h]; inside the square where 0 <= ys < ch
    xs = tf.range(w)[None, :] - (cx[:, None] - cw // 2)
    in_y = tf.logical_and(ys >= 0, ys < ch)
    in_x = tf.logical_and(xs >= 0, xs < cw)
    inside = tf.logical_and(in_y[:, :, None], in_x[:, None, :])  # [b, h, w]
    return x * tf.cast(tf.logical_not(inside), x.dtype)[..., None]


OPS = {"color": color, "translation": translation, "cutout": cutout}


SALT_BASE = 100_000  # augmentation draws never share a seed with the model's other noise (salts < 1,000)


def diff_augment(x, policy, uniform, salt: int, p=None, translation_ratio=0.125, cutout_ratio=0.5):
    """Apply the ops of `policy` in order (as given). With `p` (a float or scalar tensor in [0, 1]) each op is
    kept per image with probability p (p = 0: the identity); p=None applies every op to every image."""
    for i, name in enumerate(policy):
        s = SALT_BASE + salt * 16 + 4 * i
        if name == "translation":
            y = translation(x, uniform, s, translation_ratio)
        elif name == "cutout":
            y = cutout(x, uniform, s, cutout_ratio)
        else:
            y = OPS[name](x, uniform, s)
        if p is not None:
            keep = tf.cast(_per_image(uniform, x, s + 3) < tf.cast(p, tf.float32), x.dtype)
            y = keep * y + (1.0 - keep) * x
        x = y
    return x


def next_p(p, real_scores, threshold: float, target: float, step, r_t=None):
    """ADA's update: p + sign(r_t - target) * step, clipped to [0, 1]; r_t = mean sign(score - threshold) over
    every output of every real image (a PatchGAN's patches included), unless given."""
    if r_t is None:
        scores = tf.reshape(tf.cast(real_scores, tf.float32), [-1])
        r_t = tf.reduce_mean(tf.sign(scores - threshold))
    return tf.clip_by_value(p + tf.sign(r_t - target) * step, 0.0, 1.0), r_t


class Augmenter:
    """The `augment` config section bound to a model: what a discriminator sees of an image batch, and the
    adaptive p. Every family that has a D holds one (GAN, the conditional models, CycleGAN: one p per D)."""

    def __init__(self, section: dict):
        self.policy = parse_policy(section.get("policy"))
        self.adaptive = bool(section.get("adaptive")) and bool(self.policy)
        self.p = float(section.get("p", 1.0))
        self.target = float(section.get("target", 0.6))
        self.ada_images = float(section.get("ada_images", 100_000))
        self.translation_ratio = float(section.get("translation_ratio", 0.125))
        self.cutout_ratio = float(section.get("cutout_ratio", 0.5))

    @property
    def on(self) -> bool:
        return bool(self.policy)

    def p_variable(self, model, name: str = "aug_p"):
        """The adaptive p, a weight of `model` (checkpointed: a resumed run goes on from its p). Starts at 0."""
        return model.add_weight(name=name, shape=(), dtype="float32", trainable=False, initializer="zeros",
                                aggregation="only_first_replica")

    def __call__(self, images, uniform, salt: int, p_var=None):
        """Images as D sees them. Fixed mode: p from the config (p >= 1: every op on every image); adaptive mode:
        the current value of `p_var`."""
        if not self.policy:
            return images
        if self.adaptive:
            p = p_var
        else:
            p = None if self.p >= 1.0 else self.p
        return diff_augment(images, self.policy, uniform, salt, p=p, translation_ratio=self.translation_ratio,
                            cutout_ratio=self.cutout_ratio)

    def adapt(self, p_var, real_scores, threshold: float, suffix: str = ""):
        """Move `p_var` after a D update (adaptive mode only); returns the trackers to log (aug_p, ada_rt)."""
        if not self.adaptive:
            return {}
        ctx = tf.distribute.get_replica_context()
        n = ctx.num_replicas_in_sync if ctx is not None else 1
        step = tf.cast(tf.shape(real_scores)[0] * n, tf.float32) / self.ada_images
        scores = tf.reshape(tf.cast(real_scores, tf.float32), [-1])
        r_t = tf.reduce_mean(tf.sign(scores - threshold))
        if n > 1:  # every replica moves p by the global batch's r_t, so all hold the same p
            r_t = ctx.all_reduce(tf.distribute.ReduceOp.MEAN, r_t)
        new_p, r_t = next_p(p_var, None, threshold, self.target, step, r_t=r_t)
        p_var.assign(new_p)
        # Trackers are summed over replicas before the mean: log each replica's share so the sum is the value.
        return {f"aug_p{suffix}": new_p / float(n), f"ada_rt{suffix}": r_t / float(n)}


def colour_conditioned(cfg: dict, reads=None) -> bool:
    """True when a conditional model (one that reads the `conditional` section: `reads`, the sections its family
    reads) is asked to name colours: heads named hair/eye/colour, or whose classes contain colour words (anime hair
    colours, i-CLEVR's 'red cube')."""
    if reads is not None and "conditional" not in reads:
        return False
    for h in (cfg.get("conditional") or {}).get("heads") or []:
        text = " ".join([str(h.get("name", "")), str(h.get("source") or "")]).lower()
        if any(w in text for w in COLOUR_WORDS):
            return True
        classes = h.get("classes")
        words = {w for c in (classes if isinstance(classes, list) else []) for w in str(c).lower().split()}
        if len(COLOUR_NAMES & words) >= 2:  # e.g. i-CLEVR's 'red cube', 'blue sphere
            return True
    return False


def check_config(cfg: dict, reads=None) -> None:
    """Validate the augment section; warn when colour augmentation meets colour conditions. `reads`: the config
    sections the run's family reads (config.sections_read; None = all): this layer names no family."""
    from keras_gans.core.errors import UserError

    a = cfg["augment"]
    policy = parse_policy(a["policy"])
    if policy and reads is not None and "augment" not in reads:
        raise UserError(f"augment.policy: model {cfg.get('model')} has no discriminator to augment for; leave "
                        "augment.policy empty (data.flip augments its training images)")
    if policy and "color" in policy and colour_conditioned(cfg, reads):
        warnings.warn(
            "augment.policy includes 'color' on a colour-conditioned model: colour augmentation changes the very "
            "hair/eye colours D is asked to name; use 'translation,cutout'", stacklevel=2
        )
    # (each key's type and range, augment.target's [0, 1] included: the per-key checks, config/values.py)
    if a["adaptive"] and not policy:
        raise UserError("augment.adaptive needs augment.policy (e.g. translation,cutout)")
    reads_loss = reads is None or "loss" in reads  # a family with its own losses ignores loss.type
    if a["adaptive"] and (cfg.get("loss") or {}).get("type") == "wgan" and reads_loss:
        warnings.warn(
            "augment.adaptive reads the sign of D's score on real images; a WGAN critic's score has no fixed zero, "
            "so r_t means little there: prefer a fixed augment.p with loss.type=wgan", stacklevel=2
        )
