"""The shared training core every model family stands on.

`GenerativeModel` is a `keras.Model` subclass that owns its sub-models (Keras functional models) and optimizers
and overrides `train_step`. It gives every family the pieces that must be right once:

- randomness that is exact on resume and correct under tf.distribute: noise is *stateless*, seeded by
  (run seed, step counter, salt). Each replica draws the global batch's noise and keeps its own slice, so
  replicas differ, results do not depend on the number of replicas, and a restored step counter replays the
  same noise;
- loss reduction by the global batch (`reduce`), so gradients are right with any number of replicas;
- optimizer updates with loss scaling (mixed_float16) and gradient norms for the diagnostics;
- loss trackers declared by name, returned by `train_step` under the same names;
- hooks the callbacks, checkpoints and exporters call: `sample_inputs`, `generate`, `sample_grid`,
  `checkpoint_items`, `export_endpoints`.

A family subclasses it, builds its nets in `__init__`, declares `tracker_names`, and writes `train_step`.
"""

from __future__ import annotations

import keras
import numpy as np
import tensorflow as tf

from keras_gans.images import make_grid, to_uint8

SAMPLE_SALT = 977  # fixed-noise grids never share noise with training steps


def replica_info():
    """(number of replicas in sync, this replica's id) in replica context; (1, 0) outside any strategy."""
    ctx = tf.distribute.get_replica_context()
    if ctx is None:  # cross-replica context
        return 1, 0
    return ctx.num_replicas_in_sync, ctx.replica_id_in_sync_group


def make_optimizer(kind: str, lr: float, beta_1: float, beta_2: float, mixed_float16: bool = False):
    if kind == "adam":
        opt = keras.optimizers.Adam(lr, beta_1=beta_1, beta_2=beta_2)
    elif kind == "rmsprop":
        opt = keras.optimizers.RMSprop(lr)
    else:
        raise ValueError(f"unknown optimizer '{kind}' (adam or rmsprop)")
    return keras.optimizers.LossScaleOptimizer(opt) if mixed_float16 else opt


class GenerativeModel(keras.Model):
    """Base of every model family; see the module docstring."""

    family = "base"
    tracker_names: tuple[str, ...] = ()
    image_keys: tuple[str, ...] = ("image",)  # dataset keys that hold images
    data_kind = "images"  # what keras_gans.data.source.load_training_data hands prepare_data: images|labelled|domains

    def __init__(self, cfg: dict, data_info: dict, **kwargs):
        super().__init__(name=cfg.get("name", self.family).replace("-", "_"), **kwargs)
        self.cfg = cfg
        self.data_info = data_info
        self.image_shape = tuple(data_info["image_shape"])
        self.seed = int(cfg["train"]["seed"])
        self.sync_bn = cfg["train"]["strategy"] != "default"
        # Counts train steps; seeds the stateless noise. Checkpointed with the model.
        self.step_counter = self.add_weight(
            name="step_counter", shape=(), dtype="int64", initializer="zeros", trainable=False,
            aggregation="only_first_replica",
        )
        self.trackers = {n: keras.metrics.Mean(name=n) for n in self.active_trackers(cfg)}
        # sigma of z ~ N(0, sigma^2) (net.z_std): training noise, sample grids, seeds; `sample --z-std` overrides it.
        self.z_std = float(cfg["net"].get("z_std", 1.0) or 1.0)

    def active_trackers(self, cfg: dict) -> list[str]:
        """Tracker names for this config (a family drops the ones its config turns off, e.g. gp)."""
        return list(self.tracker_names)

    # ----- keras plumbing -------------------------------------------------------------------------------------
    @property
    def metrics(self):
        return list(self.trackers.values())

    def optimizers(self) -> dict:
        """name -> optimizer; built together and checkpointed under these names."""
        raise NotImplementedError

    def trainable_sets(self) -> dict:
        """optimizer name -> the variables it updates (to build optimizer slots before a restore)."""
        raise NotImplementedError

    def build_optimizers(self):
        """Create optimizer slots now: restoring into unbuilt optimizers silently drops their state."""
        sets = self.trainable_sets()
        for name, opt in self.optimizers().items():
            opt.build(sets[name])
        self.built = True

    def call(self, inputs, training=False):
        return self.generate(inputs, training=training)

    # ----- randomness -----------------------------------------------------------------------------------------
    def _seed_pair(self, salt: int):
        return tf.stack([tf.constant(self.seed * 1_000_003 + salt, tf.int64), tf.cast(self.step_counter, tf.int64)])

    def normal(self, local_shape, salt: int, dtype=tf.float32):
        """Stateless N(0, 1) noise for this replica's part of the global batch (same for any replica count)."""
        n, rid = replica_info()
        local_shape = list(local_shape)
        b = local_shape[0]
        z = tf.random.stateless_normal([b * n] + local_shape[1:], seed=self._seed_pair(salt), dtype=dtype)
        return z[rid * b : (rid + 1) * b] if n > 1 else z

    def latent_noise(self, batch, salt: int):
        """G's training noise z ~ N(0, z_std^2) [batch, latent_dim]."""
        return scale_latent(self.normal([batch, self.cfg["net"]["latent_dim"]], salt), self.z_std)

    def uniform(self, local_shape, salt: int, minval=0.0, maxval=1.0):
        n, rid = replica_info()
        local_shape = list(local_shape)
        b = local_shape[0]
        u = tf.random.stateless_uniform([b * n] + local_shape[1:], seed=self._seed_pair(salt), minval=minval, maxval=maxval)
        return u[rid * b : (rid + 1) * b] if n > 1 else u

    # ----- losses and updates ---------------------------------------------------------------------------------
    @staticmethod
    def reduce(per_example):
        """Mean over the *global* batch: the right gradient scale under any tf.distribute strategy."""
        return tf.nn.compute_average_loss(tf.cast(per_example, tf.float32))

    @staticmethod
    def apply_update(tape, loss, variables, optimizer):
        """Gradients (loss-scaled where the optimizer asks) applied; returns the global gradient norm."""
        scaled = optimizer.scale_loss(loss) if hasattr(optimizer, "scale_loss") else loss
        grads = tape.gradient(scaled, variables)
        norm = tf.linalg.global_norm([tf.cast(g, tf.float32) for g in grads if g is not None])
        if isinstance(optimizer, keras.optimizers.LossScaleOptimizer):  # report the unscaled norm
            norm = norm / tf.cast(optimizer.dynamic_scale, tf.float32)
        optimizer.apply_gradients(zip(grads, variables))
        return norm

    def update_trackers(self, values: dict):
        """Update the loss trackers. Under a strategy each replica holds a part of every value reduced by the
        global batch, so the parts are summed across replicas first (gradient norms become the sum of the
        replicas' partial norms: an upper bound of the global norm, exact with one replica)."""
        n, _ = replica_info()
        if n > 1:
            keys = [k for k in values if k in self.trackers]
            summed = tf.distribute.get_replica_context().all_reduce(
                tf.distribute.ReduceOp.SUM, [tf.cast(values[k], tf.float32) for k in keys]
            )
            values = dict(zip(keys, summed))
        for k, v in values.items():
            if k in self.trackers:
                self.trackers[k].update_state(v)
        return {k: t.result() for k, t in self.trackers.items()}

    # ----- hooks for callbacks, checkpoints and export ---------------------------------------------------------
    def sample_inputs(self, n: int, seed_offset: int = 0):
        """Fixed inputs for sample grids: the same every epoch, every resume, every process."""
        seed = tf.constant([self.seed * 1_000_003 + SAMPLE_SALT, seed_offset], tf.int64)
        return scale_latent(tf.random.stateless_normal([n, self.cfg["net"]["latent_dim"]], seed=seed), self.z_std)

    def generate(self, inputs, training=False):
        """Images in [-1, 1] for the given inputs (the EMA generator where the family keeps one)."""
        raise NotImplementedError

    def sample_grid(self, n: int) -> np.ndarray:
        """The uint8 grid image written to RUN/samples each epoch."""
        images = to_uint8(self.generate(self.sample_inputs(n), training=False))
        self.last_sample_images = images  # read by the diversity (mode-collapse) signal
        return make_grid(images)

    def sample_from_seeds(self, seeds, **conditions) -> np.ndarray:
        """uint8 images, image i from latent seed seeds[i]: the same pixels as the export's `generate` signature."""
        z = seeds_to_latent(tf.constant(seeds, tf.int64), self.cfg["net"]["latent_dim"], self.z_std)
        return to_uint8(self.generate(z, training=False))

    def evaluation_samples(self, n: int, seed: int = 0, batch_size: int = 256):
        """(uint8 images [n, H, W, C], requested labels or None) for metrics. Conditional families return the
        labels they asked for (a dict of arrays, e.g. {'label': [n]} or {'hair': [n], 'eyes': [n]}), drawn
        evenly over the classes, so `evaluate` can score conditional accuracy and per-class collapse."""
        out = []
        for start in range(0, n, batch_size):
            seeds = np.arange(start, min(n, start + batch_size), dtype=np.int64) + int(seed) * 1_000_000
            out.append(self.sample_from_seeds(seeds))
        return np.concatenate(out), None

    def train_callbacks(self, run_dir, chief: bool) -> list:
        """Extra Keras callbacks this family needs during `train` (schedules, extra images). They run before the
        sample/history callbacks, so numbers they add to the epoch logs land in history.csv. `chief` is False on
        non-chief workers: change training state there, but write no files."""
        return []

    def checkpoint_items(self) -> dict:
        """Trackables that make a resume exact (nets, optimizers, step counter)."""
        items = {"model": self}
        items.update({f"opt_{k}": v for k, v in self.optimizers().items()})
        return items

    def export_endpoints(self, archive, uint8_fn, png_fn):
        """Add this family's TF Serving signatures to a keras.export.ExportArchive."""
        raise NotImplementedError

    @classmethod
    def prepare_data(cls, cfg: dict, image_set) -> tuple[dict, dict]:
        """(arrays for the training pipeline, json-able data_info with at least image_shape)."""
        return {"image": image_set.images}, {"image_shape": list(image_set.images.shape[1:]), "n_images": len(image_set)}


def scale_latent(z, z_std: float = 1.0):
    """N(0, 1) draws -> N(0, z_std^2); untouched at 1.0, so runs without net.z_std keep their exact noise."""
    return z if float(z_std) == 1.0 else z * tf.cast(float(z_std), z.dtype)


def seeds_to_latent(seeds, latent_dim: int, z_std: float = 1.0):
    """One latent vector per int64 seed, identical in Python, in the export and in `sample --seed` (scaled by the
    run's net.z_std in all three)."""

    def one(s):
        return tf.random.stateless_normal([latent_dim], seed=tf.stack([s, tf.constant(0, tf.int64)]))

    z = tf.map_fn(one, tf.cast(seeds, tf.int64), fn_output_signature=tf.TensorSpec([latent_dim], tf.float32))
    return scale_latent(z, z_std)
