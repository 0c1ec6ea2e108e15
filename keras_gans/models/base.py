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
- hooks the callbacks, checkpoints and exporters call: `generate`, `sample_panel`, `checkpoint_items`,
  `export_endpoints`.

It assumes no latent generator: sampling from noise is the `LatentSampler` mixin (models/latent.py), and every
family declares what it can do in `capabilities` (models/capabilities.py).

A family subclasses it, builds itself from its config in one place (the classmethod `from_config(cfg, data_info)`:
its nets from keras_gans.nets, its optimizers from the one factory, both passed to `__init__`, as the keras-io
examples pass them to their models), declares `tracker_names`, `net_names`, `capabilities` and `lr_keys`, and
writes `step_updates` (its losses and updates, each through `minimize`); `train_step` is the core's template
around it (see docs/extending.md).
"""

from __future__ import annotations

import keras
import numpy as np
import tensorflow as tf

from keras_gans.core.images import READABLE_CELL


def replica_info():
    """(number of replicas in sync, this replica's id) in replica context; (1, 0) outside any strategy."""
    ctx = tf.distribute.get_replica_context()
    if ctx is None:  # cross-replica context
        return 1, 0
    return ctx.num_replicas_in_sync, ctx.replica_id_in_sync_group


class GenerativeModel(keras.Model):
    """Base of every model family; see the module docstring."""

    family = "base"
    capabilities: frozenset = frozenset()  # keras_gans/models/capabilities.py: what commands may ask of this family
    net_names: tuple[str, ...] = ()  # attributes holding this family's Keras nets, in the order tools list them
    tracker_names: tuple[str, ...] = ()
    image_keys: tuple[str, ...] = ("image",)  # dataset keys that hold images
    data_kind = "images"  # what keras_gans.data.source.load_training_data hands prepare_data: images|labelled|domains
    lr_keys = {"g": "train.g_lr", "d": "train.d_lr"}  # optimizer name -> the config key of its learning rate
    # how train.threads=auto lays out the CPUs for this family's step (core/threads.LAYOUTS): kernels = one op at a
    # time on every CPU (chains of large convolutions); ops = independent ops side by side, one thread each
    thread_layout = "kernels"

    @classmethod
    def from_config(cls, cfg: dict, data_info: dict):
        """The family built from its config: what models.create_model (and so every command) calls. A family that
        takes its nets and optimizers in `__init__` makes them here (template, cyclegan); the default passes the
        config on. (Not Keras's get_config/from_config serialisation: a family is rebuilt from RUN/config.yaml and
        its checkpoint, never from get_config.)"""
        return cls(cfg, data_info)

    @staticmethod
    def uses_sync_bn(cfg: dict) -> bool:
        """Batch norm synchronised across replicas (any strategy but the default one)."""
        return cfg["train"]["strategy"] != "default"

    @classmethod
    def data_options(cls, cfg: dict):
        """What the data layer needs to know besides the shared data section to load this family's data_kind (e.g.
        keras_gans.data.source.DomainOptions for "domains"); None = the data section alone."""
        return None

    def __init__(self, cfg: dict, data_info: dict, **kwargs):
        super().__init__(name=cfg.get("name", self.family).replace("-", "_"), **kwargs)
        self.cfg = cfg
        self.data_info = data_info
        self.image_shape = tuple(data_info["image_shape"])
        self.seed = int(cfg["train"]["seed"])
        self.sync_bn = self.uses_sync_bn(cfg)
        # sample grids written during training (RUN/samples): cells enlarged to >= this many px (0 = raw size)
        self.grid_cell = int(cfg.get("callbacks", {}).get("grid_cell", READABLE_CELL) or 0)
        # Counts train steps; seeds the stateless noise. Checkpointed with the model.
        self.step_counter = self.add_weight(
            name="step_counter", shape=(), dtype="int64", initializer="zeros", trainable=False,
            aggregation="only_first_replica",
        )
        self.trackers = {n: keras.metrics.Mean(name=n) for n in self.active_trackers(cfg)}

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

    def sub_models(self) -> dict:
        """name -> Keras net, for `nets`, summaries and tests (the names the family declares in net_names)."""
        return {name: getattr(self, name) for name in self.net_names}

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

    # ----- the train step: a template the families fill in ------------------------------------------------------
    def train_step(self, data):
        """What Keras calls per batch: the family's updates (`step_updates`), then the epilogue every family
        shares, written once: the step counter (it seeds the noise) and the loss trackers."""
        logs = self.step_updates(data)
        self.step_counter.assign_add(1)
        return self.update_trackers(logs)

    def step_updates(self, data) -> dict:
        """The family's part of a step: its updates, each through `minimize`; returns the numbers to track."""
        raise NotImplementedError

    def minimize(self, opt_name: str, compute):
        """One update in Keras's order: under the tape compute(tape) -> (per-example loss, extras), the loss reduced
        by the global batch, then scale_loss -> gradients -> apply on the variables of `trainable_sets()[opt_name]`
        with `optimizers()[opt_name]`. Returns (loss, global gradient norm, extras)."""
        with tf.GradientTape() as tape:
            per_example, extras = compute(tape)
            loss = self.reduce(per_example)
        norm = self.apply_update(tape, loss, self.trainable_sets()[opt_name], self.optimizers()[opt_name])
        return loss, norm, extras

    @staticmethod
    def apply_update(tape, loss, variables, optimizer):
        """Gradients (loss-scaled where the optimizer asks: LossScaleOptimizer) applied; returns the global
        gradient norm."""
        scaled = optimizer.scale_loss(loss)
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
    def generate(self, inputs, training=False):
        """Images in [-1, 1] for the given inputs (the EMA generator where the family keeps one)."""
        raise NotImplementedError

    def sample_panel(self, n: int) -> tuple[np.ndarray, np.ndarray]:
        """(the uint8 grid written to RUN/samples each epoch, the uint8 generated images in it): the sample
        callback saves the grid and reads the mode-collapse (diversity) signal off the images."""
        raise NotImplementedError

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

    def export_endpoints(self, archive):
        """Add this family's TF Serving signatures to a keras.export.ExportArchive, with the builder in
        models/signatures.py."""
        raise NotImplementedError

    @classmethod
    def real_batches_per_step(cls, cfg: dict) -> int:
        """Real batches one train step consumes (the step plan's d_slices): one; a family that makes several D
        updates per step on fresh data (the GAN family's gan.d_steps) says how many."""
        return 1

    @classmethod
    def prepare_data(cls, cfg: dict, image_set) -> tuple[dict, dict]:
        """(arrays for the training pipeline, json-able data_info with at least image_shape)."""
        return {"image": image_set.images}, {"image_shape": list(image_set.images.shape[1:]), "n_images": len(image_set)}


