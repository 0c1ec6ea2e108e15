"""Unconditional GANs: DCGAN, SNGAN, WGAN, WGAN-GP, LSGAN, hinge and the MLP/ablation variants are all this one
class; the loss, the nets and the tricks come from the config.

One train step = `d_steps` discriminator updates (each on its own slice of the real batch, i.e. n_critic with
fresh real data) followed by `g_steps` generator updates, all inside one tf.function (`step_updates`, run by the
core's train_step; each update through `minimize`).
"""

from __future__ import annotations

import keras
import tensorflow as tf

from keras_gans import nets
from keras_gans.parts import augment, losses
from keras_gans.models.base import GenerativeModel
from keras_gans.models.capabilities import LATENT
from keras_gans.models.latent import LatentSampler
from keras_gans.models.signatures import add_latent_signatures
from keras_gans.parts.optimizers import from_train_config


class GAN(LatentSampler, GenerativeModel):
    family = "gan"
    capabilities = frozenset({LATENT})
    net_names = ("generator", "discriminator")
    tracker_names = (
        "d_loss", "g_loss", "d_real", "d_fake", "d_acc_real", "d_acc_fake", "gp", "d_grad_norm", "g_grad_norm",
        "D_G_z1", "D_G_z2",  # D(G(z)) before D's update (= d_fake) and after it, in G's update (PyTorch tutorial)
    )

    @classmethod
    def real_batches_per_step(cls, cfg: dict) -> int:
        from keras_gans.models.gan_config import max_d_steps

        return max_d_steps(cfg)

    def active_trackers(self, cfg):
        names = list(self.tracker_names)
        if not (cfg["gan"]["gp_weight"] or cfg["gan"].get("r1_gamma")):
            names.remove("gp")
        if cfg["augment"]["adaptive"] and cfg["augment"]["policy"]:
            names += ["aug_p", "ada_rt"]
        if cfg["gan"]["gp_weight"] or cfg["model"] != "gan" or cfg["gan"].get("schedule"):
            names += ["d_adv_loss", "g_adv_loss"]  # the unweighted adversarial part, apart from the weighted total
        return names

    @classmethod
    def from_config(cls, cfg: dict, data_info: dict):
        """G and D (`build_nets`: from the nets registry; the conditional families add inputs and heads) and two
        optimizers from the one factory, passed to the model."""
        t = cfg["train"]
        generator, discriminator = cls.build_nets(cfg, data_info)
        return cls(cfg, data_info, generator=generator, discriminator=discriminator,
                   g_optimizer=from_train_config(t, t["g_lr"]), d_optimizer=from_train_config(t, t["d_lr"]))

    def __init__(self, cfg: dict, data_info: dict, *, generator, discriminator, g_optimizer, d_optimizer, **kwargs):
        super().__init__(cfg, data_info, **kwargs)
        self.loss_type = cfg["loss"]["type"]
        g = cfg["gan"]  # this family's own section (models/gan_config.py)
        self.d_steps = g["d_steps"]
        self.g_steps = g["g_steps"]
        self.gp_weight = float(g["gp_weight"] or 0.0)
        self.r1_gamma = float(g.get("r1_gamma") or 0.0)
        self.clip_value = float(g["clip_value"] or 0.0)
        self.smoothing = float(g["label_smoothing"] or 0.0)
        self.instance_noise = float(g["instance_noise"] or 0.0)
        self.ema_decay = float(g["ema"] or 0.0)
        if self.gp_weight and cfg["net"]["d_norm"] == "batch" and not cfg["net"]["spectral_norm"]:
            import warnings

            warnings.warn("gan.gp_weight with net.d_norm=batch: batch norm mixes the samples, so the gradient "
                          "penalty is not per-sample (WGAN-GP uses net.d_norm=layer or none)", stacklevel=2)
        self.reuse_fake = bool(g.get("reuse_fake", False))
        self.top_k, self.top_k_decay = float(g.get("top_k") or 0.0), float(g.get("top_k_decay", 0.99))
        # epochs per G update, for top-k's per-epoch decay
        self.epochs_per_update = cfg["train"]["batch_size"] / max(1, int(data_info.get("n_images") or 1))
        self.augmenter = augment.Augmenter(cfg["augment"])
        # The adaptive p is a model weight (checkpointed); only adaptive runs have it, so other checkpoints keep
        # their layout.
        self.aug_p = self.augmenter.p_variable(self) if self.augmenter.adaptive else None
        self.read_section(cfg, data_info)
        self.generator, self.discriminator = generator, discriminator
        self.ema_generator = None
        if self.ema_decay:
            self.ema_generator = keras.models.clone_model(self.generator)
            self.ema_generator.set_weights(self.generator.get_weights())
            self.ema_generator.trainable = False
        self.g_optimizer, self.d_optimizer = g_optimizer, d_optimizer
        self._init_schedule()

    # ----- gan.schedule (keras_gans/models/schedule.py) ------------------------------------------------------
    def _init_schedule(self):
        """Scheduled loss weights become tf.Variables the step reads (no re-trace when they change)."""
        from keras_gans.models import schedule as sched

        self.schedule = sched.validate_schedule(self.cfg["gan"]["schedule"], self.cfg) if self.cfg["gan"].get(
            "schedule") else []
        self.max_d = self.real_batches_per_step(self.cfg)  # the real batches the pipeline feeds per step
        self._sched_vars = {}
        heads = {h.name: h.weight for h in getattr(self, "heads", [])}
        self.schedule_base = {"d_steps": self.d_steps, "g_steps": self.g_steps, "g_lr": float(self.cfg["train"]["g_lr"]),
                              "d_lr": float(self.cfg["train"]["d_lr"]), "gp_weight": self.gp_weight,
                              "adv_weight": float(self.cfg.get("conditional", {}).get("adv_weight", 1.0)),
                              "head_weights": heads}
        self._sched_keys = {k for e in self.schedule for k in e if k != "step"}
        for k in ("gp_weight", "adv_weight"):
            if k in self._sched_keys:
                self._sched_vars[k] = tf.Variable(self.schedule_base[k], trainable=False, dtype=tf.float32, name=k)
        for e in self.schedule:
            for name in e.get("head_weights", {}):
                if f"head:{name}" not in self._sched_vars:
                    self._sched_vars[f"head:{name}"] = tf.Variable(heads.get(name, 1.0), trainable=False,
                                                                   dtype=tf.float32, name=f"{name}_weight")

    def weight(self, key: str, default):
        """A loss weight: the Python number from the config, or the tf.Variable the schedule drives."""
        return self._sched_vars.get(key, default)

    def apply_schedule(self, values: dict) -> bool:
        """Set the scheduled values in force (called by the schedule callback at a step boundary); re-traces
        the train step only when the D:G step ratio changes. Returns whether anything changed."""
        changed = False
        for k, v in self._sched_vars.items():
            want = values["head_weights"][k[5:]] if k.startswith("head:") else values[k]
            if abs(float(v.numpy()) - float(want)) > 1e-6 * max(1.0, abs(float(want))):
                v.assign(float(want))
                changed = True
        for k, opt in (("g_lr", self.g_optimizer), ("d_lr", self.d_optimizer)):
            if k in self._sched_keys and abs(float(opt.learning_rate.numpy()) - values[k]) > 1e-6 * values[k]:
                opt.learning_rate.assign(values[k])
                changed = True
        if (values["d_steps"], values["g_steps"]) != (self.d_steps, self.g_steps):
            self.d_steps, self.g_steps = int(values["d_steps"]), int(values["g_steps"])
            self.make_train_function(force=True)
            changed = True
        return changed

    def train_callbacks(self, run_dir, chief: bool) -> list:
        if not self.schedule:
            return []
        from keras_gans.models.schedule import make_callback

        return [make_callback(self)]

    # Families that condition G and D override build_nets, read_section, generator_inputs and discriminate.
    @classmethod
    def build_nets(cls, cfg: dict, data_info: dict):
        """(generator, discriminator) for this config."""
        shape, sync_bn = tuple(data_info["image_shape"]), cls.uses_sync_bn(cfg)
        return nets.build_generator(cfg["net"], shape, sync_bn), nets.build_discriminator(cfg["net"], shape, sync_bn)

    def read_section(self, cfg: dict, data_info: dict):
        """The settings of the family's own config section, as attributes (the plain GAN has none)."""

    def generator_inputs(self, batch: int, salt: int, data: dict):
        """G's inputs for one step (noise; conditional families add the labels)."""
        return self.latent_noise(batch, salt)

    def fake_data(self, z, data: dict) -> dict:
        """The labels that go with fakes G made from inputs z (conditional families: those in z)."""
        return data

    def discriminate(self, images, data: dict, training: bool = True):
        """D's outputs for images (a dict with at least 'score'; conditional families add heads)."""
        return {"score": self.discriminator(images, training=training)}

    def extra_d_loss(self, real_out, fake_out, data, fake_data=None):
        """Extra per-example D loss terms (conditional heads); (per-example tensor or 0, trackers dict). fake_data:
        the labels the fakes were made with (None = data's)."""
        return 0.0, {}

    def extra_g_loss(self, fake_out, data):
        return 0.0, {}

    # ----- the optimizer plumbing the core asks for ----------------------------------------------------------
    def optimizers(self):
        return {"g": self.g_optimizer, "d": self.d_optimizer}

    def trainable_sets(self):
        return {"g": self.generator.trainable_variables, "d": self.discriminator.trainable_variables}

    # ----- training --------------------------------------------------------------------------------------------
    def _noisy(self, images, salt):
        if not self.instance_noise:
            return images
        return images + self.instance_noise * self.normal(tf.shape(images), salt, dtype=images.dtype)

    def augmented(self, images, salt):
        """Images as D sees them (augment.policy; the identity when off), before any instance noise."""
        return self.augmenter(images, self.uniform, salt, self.aug_p)

    def d_input(self, images, salt):
        """What D sees of an image batch: augmented (augment.policy) and with instance noise (gan.instance_noise),
        for real and fake alike, in D's update and in G's."""
        return self._noisy(self.augmented(images, salt), salt)

    def adapt_p(self, real_scores):
        """ADA: move p towards the target r_t after each D update; returns the trackers to log."""
        return self.augmenter.adapt(self.aug_p, real_scores, losses.real_threshold(self.loss_type))

    def d_update(self, real, data, i: int, fake=None, z=None):
        batch = tf.shape(real)[0]
        if fake is None:
            z = self.generator_inputs(batch, 10 + i, data)
            fake = self.generator(z, training=True)
        fake_data = self.fake_data(z, data) if z is not None else data
        fake = tf.stop_gradient(fake)
        d_loss_fn = losses.d_loss_fn(self.loss_type)
        if self.augmenter.on:  # augment once: D's loss and the gradient penalty see the same images
            real, fake = self.augmented(real, 20 + i), self.augmented(fake, 30 + i)

        def critic(x):
            return self.discriminate(x, data, training=True)

        def compute(tape):
            real_in = self._noisy(real, 20 + i)
            if self.r1_gamma:  # one D forward pass on the real batch serves both its loss and the R1 penalty
                r1, real_out = losses.r1_penalty(critic, real_in, self.r1_gamma, score=lambda out: out["score"])
            else:
                r1, real_out = 0.0, critic(real_in)
            fake_out = self.discriminate(self._noisy(fake, 30 + i), fake_data, training=True)
            adv = d_loss_fn(real_out["score"], fake_out["score"], self.smoothing)
            extra, extra_logs = self.extra_d_loss(real_out, fake_out, data, fake_data)
            per_example = adv + extra
            gp = tf.zeros_like(per_example)
            if self.gp_weight or "gp_weight" in self._sched_vars:
                alpha = self.uniform([batch], 40 + i)
                gp = losses.gradient_penalty(
                    lambda x: critic(x)["score"], real, fake, alpha, self.weight("gp_weight", self.gp_weight),
                )
            gp = gp + r1
            return per_example + gp, (real_out["score"], fake_out["score"], adv, gp, extra_logs)

        loss, norm, (real_score, fake_score, adv, gp, extra_logs) = self.minimize("d", compute)
        if self.clip_value:
            for w in self.discriminator.trainable_variables:
                w.assign(tf.clip_by_value(w, -self.clip_value, self.clip_value))
        p_real = losses.score_to_prob(self.loss_type, real_score)
        p_fake = losses.score_to_prob(self.loss_type, fake_score)
        thr = losses.real_threshold(self.loss_type)
        logs = {
            "d_loss": loss,
            "d_real": self.reduce(p_real),
            "d_fake": self.reduce(p_fake),
            "D_G_z1": self.reduce(p_fake),
            "d_adv_loss": self.reduce(adv),
            "d_acc_real": self.reduce(tf.cast(tf.reshape(real_score, [-1]) > thr, tf.float32)),
            "d_acc_fake": self.reduce(tf.cast(tf.reshape(fake_score, [-1]) <= thr, tf.float32)),
            "gp": self.reduce(gp),
            "d_grad_norm": norm,
        }
        logs.update(extra_logs)
        logs.update(self.adapt_p(real_score))
        return logs

    def g_update(self, batch, data, j: int, before_d=None):
        """One G update. With `before_d` (gan.reuse_fake), G's forward pass is run once for the step: the D
        update `before_d(fake)` runs on it first (not recorded), then G's loss is taken on the same batch."""
        g_loss_fn = losses.g_loss_fn(self.loss_type)
        z = self.generator_inputs(batch, 50 + j if before_d is None else 10, data)

        def compute(tape):
            fake = self.generator(z, training=True)
            d_logs = {}
            if before_d is not None:
                with tape.stop_recording():
                    d_logs = before_d(fake, z)
            fake_data = self.fake_data(z, data)
            fake_out = self.discriminate(self.d_input(fake, 60 + j), fake_data, training=True)
            extra, extra_logs = self.extra_g_loss(fake_out, fake_data)
            adv = g_loss_fn(fake_out["score"])
            if self.top_k:
                adv = adv * losses.top_k_weights(fake_out["score"], self.top_k_fraction())
            return adv + extra, (d_logs, fake_out["score"], adv, extra_logs)

        loss, norm, (d_logs, fake_score, adv, extra_logs) = self.minimize("g", compute)
        if self.ema_generator is not None:
            self.update_ema()
        logs = {**d_logs, "g_loss": loss, "g_grad_norm": norm, "g_adv_loss": self.reduce(adv),
                "D_G_z2": self.reduce(losses.score_to_prob(self.loss_type, fake_score))}
        logs.update(extra_logs)
        return logs

    def top_k_fraction(self):
        """k / batch for G's top-k loss at this update: max(gan.top_k, gan.top_k_decay ** epoch)."""
        epoch = tf.floor(tf.cast(self.g_optimizer.iterations, tf.float32) * self.epochs_per_update)
        return tf.maximum(self.top_k, tf.pow(self.top_k_decay, epoch))

    def update_ema(self):
        # Warm-up (as tf.train.ExponentialMovingAverage with num_updates): early on the average follows G closely,
        # so short runs do not sample from a generator that is still ~all initial weights.
        n = tf.cast(self.g_optimizer.iterations, tf.float32)
        d = tf.minimum(self.ema_decay, (1.0 + n) / (10.0 + n))
        for e, w in zip(self.ema_generator.weights, self.generator.weights):
            if w.trainable:  # e <- d * e + (1 - d) * w, as one in-place update (fewer temporaries per step)
                e.assign_sub((1.0 - d) * (e - tf.cast(w, e.dtype)))
            else:  # batch-norm statistics are copied, not averaged
                e.assign(w)

    def split_batch(self, data: dict, parts: int) -> list[dict]:
        """Cut the step's batch into `parts` equal slices, one per D update."""
        if parts == 1:
            return [data]
        pieces = {k: tf.split(v, parts, axis=0) for k, v in data.items()}
        return [{k: pieces[k][i] for k in data} for i in range(parts)]

    def step_updates(self, data):
        if self.reuse_fake and self.d_steps == 1 and self.g_steps == 1:
            # One G forward per step (as in the PyTorch DCGAN tutorial): D trains on the fakes, then G's loss is
            # taken on the same fakes through the updated D. Saves a G forward pass (~8% of the step).
            return self.g_update(tf.shape(data["image"])[0], data, 0,
                                 before_d=lambda fake, z: self.d_update(data["image"], data, 0, fake=fake, z=z))
        logs = {}
        # the pipeline feeds max_d slices (gan.schedule may lower d_steps for a while): use the first d_steps
        slices = self.split_batch(data, self.max_d)[: self.d_steps]
        for i, part in enumerate(slices):
            logs.update(self.d_update(part["image"], part, i))
        batch = tf.shape(slices[0]["image"])[0]
        for j in range(self.g_steps):
            logs.update(self.g_update(batch, slices[j % len(slices)], j))
        return logs

    # ----- hooks -----------------------------------------------------------------------------------------------
    @property
    def sampling_generator(self):
        return self.ema_generator if self.ema_generator is not None else self.generator

    def generate(self, inputs, training=False):
        return self.sampling_generator(inputs, training=training)

    def export_endpoints(self, archive):
        add_latent_signatures(archive, self.sampling_generator, self.latent_dim, self.z_std)
