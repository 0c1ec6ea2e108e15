"""Conditional GANs: cGAN (labels concatenated into G and D), the projection discriminator (Miyato & Koyama 2018)
and ACGAN (Odena et al. 2017) with several weighted auxiliary heads, all one class configured by `conditional:`.

- G always takes z plus one input per condition (`heads`): a softmax condition is an int32 class index [batch],
  one-hot encoded (or embedded, `embed_dim` > 0); a sigmoid condition is a float32 multi-hot set [batch, K].
- D by `mode`: `concat` tiles the encoded labels over the image and adds them as channels; `projection` adds
  <embed(y), features> to the real/fake score; `acgan` gives D one classifier head per condition (softmax ->
  K logits with cross-entropy, sigmoid -> K logits with per-label BCE, meaned over the K labels; summed with
  `class_loss: sum`, the behaviour before issue 13, where a weight w meant K times more).
- Losses: total D loss = adv_weight * adversarial + sum_h weight_h * (CE_h(real) + CE_h(fake)) (+ GP); the fake
  term is dropped with `d_fake_class_loss: false`. G: adv_weight * adversarial + sum_h weight_h * CE_h(fake).
  Any loss.type (bce, lsgan, wgan, hinge) and the gradient penalty work, because the heads only add terms.
- Fake images are drawn with the labels of the real batch they are trained against (`fake_labels: real`), so the
  label distribution G learns is the data's; or with random labels (`fake_labels: random`: uniform classes, and
  for sigmoid heads a uniformly random set of as many labels as the real image has), as the Keras anime ACGAN.
- Trackers per head: d_NAME_loss, g_NAME_loss, NAME_acc_real, NAME_acc_fake (D's head accuracy on real images
  and on generated images with the requested labels; for sigmoid heads, the recall of the true labels in the top
  k scores, k = the number of true labels, as the i-CLEVR evaluator counts; a one-label (binary attribute) head,
  and an image asked for no label, count D's per-label decisions, logit > 0 = present).
"""

from __future__ import annotations

import json

import keras
import numpy as np
import tensorflow as tf
from keras import layers

from keras_gans import nets
from keras_gans.parts import conditioning, losses
from keras_gans.core.errors import UserError
from keras_gans.core.images import make_grid, to_uint8
from keras_gans.models.capabilities import CONDITIONAL, LATENT
from keras_gans.models.gan import GAN
from keras_gans.models.latent import seeds_to_latent
from keras_gans.models.signatures import add_json_signature, add_latent_signatures
from keras_gans.core.seeds import latent_seeds


def _tensors(arrays: dict) -> dict:
    return {k: tf.convert_to_tensor(v) for k, v in arrays.items()}


class ConditionalGAN(GAN):
    family = "cgan"
    capabilities = frozenset({LATENT, CONDITIONAL})
    data_kind = "labelled"

    # ----- config, data ------------------------------------------------------------------------------------------
    def active_trackers(self, cfg):
        names = super().active_trackers(cfg)
        if cfg["conditional"]["mode"] == "acgan":
            for h in conditioning.head_specs(cfg):
                n = h["name"]
                names += [f"d_{n}_loss", f"g_{n}_loss", f"{n}_acc_real", f"{n}_acc_fake"]
        return names

    @classmethod
    def prepare_data(cls, cfg: dict, image_set):
        """Images + one label array per condition, mapped onto the heads; data_info records each head's classes.
        The labels were read by the data layer (data_kind "labelled"): unlabelled images are already dropped."""
        specs = conditioning.head_specs(cfg)
        arrays, names = dict(image_set.labels), dict(getattr(image_set, "label_names", {}) or {})
        where = getattr(image_set, "label_source", "") or "the built-in data"
        if not arrays:
            raise UserError(f"{where} has no labels; conditional models need labelled data (see docs: data formats)")
        out, conditions = {}, []
        for s in specs:
            key = s["source"] or s["name"]
            if key not in arrays:
                if len(specs) == 1 and len(arrays) == 1:
                    key = next(iter(arrays))
                else:
                    raise UserError(
                        f"head '{s['name']}' has no labels in {where} (it has: {', '.join(arrays)}); name the heads "
                        "after the data's labels or set a head's source"
                    )
            arr, classes = conditioning.resolve(s, np.asarray(arrays[key]), names.get(key), where)
            out[s["name"]] = arr
            conditions.append({"name": s["name"], "type": s["type"], "classes": classes})
        images = image_set.images
        info = {"image_shape": list(images.shape[1:]), "n_images": int(len(images)), "conditions": conditions}
        return {"image": images, **out}, info

    # ----- nets --------------------------------------------------------------------------------------------------
    def read_section(self, cfg: dict, data_info: dict):
        c = cfg["conditional"]
        self.mode = c["mode"]
        self.heads = conditioning.heads_from_info(cfg, data_info)
        self.adv_weight = float(c["adv_weight"])
        self.embed_dim = int(c["embed_dim"] or 0)
        self.d_fake_class_loss = bool(c["d_fake_class_loss"])
        self.fake_labels = c.get("fake_labels") or "real"
        self.class_loss = c.get("class_loss") or "mean"

    @classmethod
    def build_nets(cls, cfg: dict, data_info: dict):
        """(G taking z and the conditions, D taking the image (and, for concat / projection, the conditions) with
        its score and, for the auxiliary-classifier mode, one logits head per condition)."""
        c, net = cfg["conditional"], cfg["net"]
        mode, embed_dim = c["mode"], int(c["embed_dim"] or 0)
        heads = conditioning.heads_from_info(cfg, data_info)
        image_shape, sync_bn = tuple(data_info["image_shape"]), cls.uses_sync_bn(cfg)

        z = keras.Input((int(net["latent_dim"]),), name="z")
        g_in = {"z": z}
        parts = [z]
        for h in heads:
            g_in[h.name] = cls._label_input(h)
            parts.append(cls._encode(h, g_in[h.name], f"g_{h.name}", embed_dim))
        x = layers.Concatenate(name="g_condition")(parts)
        generator = keras.Model(g_in, nets.generator_trunk(x, net, image_shape, sync_bn), name="generator")

        img = keras.Input(image_shape, name="image")
        d_in = {"image": img}
        x = img
        if mode in ("concat", "projection"):
            for h in heads:
                d_in[h.name] = cls._label_input(h)
        if mode == "concat":
            size_h, size_w = image_shape[0], image_shape[1]
            maps = []
            for h in heads:
                e = cls._encode(h, d_in[h.name], f"d_{h.name}", embed_dim)
                e = layers.Reshape((1, 1, e.shape[-1]))(e)
                maps.append(layers.UpSampling2D((size_h, size_w), name=f"d_{h.name}_tile")(e))
            x = layers.Concatenate(axis=-1, name="d_condition")([img] + maps)
        fmap, feats = nets.discriminator_features(x, net, sync_bn)
        score = nets.score_head(feats, net, feature_map=fmap)
        outputs = {}
        if mode == "projection":
            f32 = layers.Activation("linear", dtype="float32", name="d_features_f32")(feats)
            dim = f32.shape[-1]
            for h in heads:
                if h.type == "softmax":
                    e = layers.Embedding(h.k, dim, dtype="float32", name=f"d_{h.name}_embed")(d_in[h.name])
                else:
                    e = layers.Dense(dim, use_bias=False, dtype="float32", name=f"d_{h.name}_embed")(d_in[h.name])
                proj = layers.Dot(axes=1, dtype="float32", name=f"d_{h.name}_proj")([e, f32])
                score = layers.Add(dtype="float32", name=f"d_{h.name}_plus")([score, proj])
        outputs["score"] = score
        if mode == "acgan":
            for h in heads:
                outputs[h.name] = nets.score_head(feats, net, units=h.k, name=f"d_{h.name}")
        return generator, keras.Model(d_in, outputs, name="discriminator")

    @staticmethod
    def _label_input(h):
        if h.type == "softmax":
            return keras.Input((), dtype="int32", name=h.name)
        return keras.Input((h.k,), dtype="float32", name=h.name)

    @staticmethod
    def _encode(h, inp, prefix, embed_dim: int):
        if h.type == "softmax":
            if embed_dim:
                return layers.Embedding(h.k, embed_dim, name=f"{prefix}_embed")(inp)
            return layers.CategoryEncoding(h.k, output_mode="one_hot", name=f"{prefix}_onehot")(inp)
        if embed_dim:
            return layers.Dense(embed_dim, use_bias=False, name=f"{prefix}_embed")(inp)
        return inp

    # ----- the hooks GAN's train step calls ---------------------------------------------------------------------
    def _labels(self, data):
        return {h.name: data[h.name] for h in self.heads}

    def generator_inputs(self, batch, salt, data):
        labels = self._labels(data) if self.fake_labels == "real" else self.random_labels(batch, salt, data)
        return {"z": self.latent_noise(batch, salt), **labels}

    def random_labels(self, batch, salt, data):
        """Uniform random conditions for G's fakes (conditional.fake_labels: random), from the stateless noise:
        a softmax condition's class uniformly, a sigmoid condition's set uniformly among the sets of as many
        labels as the real image in that row has."""
        out = {}
        for i, h in enumerate(self.heads):
            u = self.uniform([batch, h.k], 1000 + 97 * salt + i)
            if h.type == "softmax":
                out[h.name] = tf.argmax(u, axis=-1, output_type=tf.int32)
            else:
                k = tf.reduce_sum(tf.cast(data[h.name], tf.float32), -1, keepdims=True)
                rank = tf.reduce_sum(tf.cast(u[:, None, :] > u[:, :, None], tf.float32), -1)  # labels drawn higher
                out[h.name] = tf.cast(rank < k, tf.float32)
        return out

    def fake_data(self, z, data):
        return {**data, **{h.name: z[h.name] for h in self.heads}} if isinstance(z, dict) else data

    def discriminate(self, images, data, training=True):
        inputs = {"image": images}
        if self.mode in ("concat", "projection"):
            inputs.update(self._labels(data))
        return dict(self.discriminator(inputs, training=training))

    @staticmethod
    def head_loss(h, logits, y, reduction: str = "mean"):
        """Per-example loss of one head: softmax cross-entropy, or per-label BCE meaned (or summed) over K labels."""
        logits = tf.cast(logits, tf.float32)
        if h.type == "softmax":
            return tf.nn.sparse_softmax_cross_entropy_with_logits(labels=tf.cast(y, tf.int32), logits=logits)
        bce = tf.nn.sigmoid_cross_entropy_with_logits(labels=tf.cast(y, tf.float32), logits=logits)
        return tf.reduce_sum(bce, -1) if reduction == "sum" else tf.reduce_mean(bce, -1)

    @staticmethod
    def head_accuracy(h, logits, y):
        logits = tf.cast(logits, tf.float32)
        if h.type == "softmax":
            return tf.cast(tf.equal(tf.argmax(logits, -1, output_type=tf.int32), tf.cast(y, tf.int32)), tf.float32)
        y = tf.cast(y, tf.float32)
        # per-label decisions (logit > 0 = present): the accuracy of binary attributes, and of images asked for
        # no label at all, where a top-k count has nothing to count
        decided = tf.reduce_mean(tf.cast(tf.equal(tf.cast(logits > 0, tf.float32), y), tf.float32), -1)
        if h.k == 1:
            return decided
        k = tf.reduce_sum(y, -1)
        rank = tf.reduce_sum(tf.cast(logits[:, None, :] > logits[:, :, None], tf.float32), -1)  # labels scoring higher
        hits = tf.reduce_sum(y * tf.cast(rank < k[:, None], tf.float32), -1)
        return tf.where(k > 0, hits / tf.maximum(k, 1.0), decided)

    def extra_d_loss(self, real_out, fake_out, data, fake_data=None):
        fake_data = data if fake_data is None else fake_data
        extra = 0.0
        logs = {}
        if self.adv_weight != 1.0 or "adv_weight" in self._sched_vars:
            adv = losses.d_loss_fn(self.loss_type)(real_out["score"], fake_out["score"], self.smoothing)
            extra = (self.weight("adv_weight", self.adv_weight) - 1.0) * adv
        if self.mode == "acgan":
            for h in self.heads:
                y, y_fake = data[h.name], fake_data[h.name]
                term = self.head_loss(h, real_out[h.name], y, self.class_loss)
                if self.d_fake_class_loss:
                    term = term + self.head_loss(h, fake_out[h.name], y_fake, self.class_loss)
                extra = extra + self.weight(f"head:{h.name}", h.weight) * term
                logs[f"d_{h.name}_loss"] = self.reduce(term)
                logs[f"{h.name}_acc_real"] = self.reduce(self.head_accuracy(h, real_out[h.name], y))
                logs[f"{h.name}_acc_fake"] = self.reduce(self.head_accuracy(h, fake_out[h.name], y_fake))
        return extra, logs

    def extra_g_loss(self, fake_out, data):
        extra = 0.0
        logs = {}
        if self.adv_weight != 1.0 or "adv_weight" in self._sched_vars:
            extra = (self.weight("adv_weight", self.adv_weight) - 1.0) * losses.g_loss_fn(self.loss_type)(fake_out["score"])
        if self.mode == "acgan":
            for h in self.heads:
                term = self.head_loss(h, fake_out[h.name], data[h.name], self.class_loss)
                extra = extra + self.weight(f"head:{h.name}", h.weight) * term
                logs[f"g_{h.name}_loss"] = self.reduce(term)
        return extra, logs

    # ----- sampling ----------------------------------------------------------------------------------------------
    def heads_note(self) -> str | None:
        """What D's outputs mean, for `nets` (the heads are logits; the losses apply sigmoid / softmax)."""
        if not self.heads:
            return None
        loss = self.cfg["loss"]["type"]
        parts = [f"score: 1 {'logit, sigmoid in the BCE loss' if loss == 'bce' else 'raw ' + loss + ' score'}"]
        if self.mode == "acgan":
            for h in self.heads:
                how = "softmax cross-entropy" if h.type == "softmax" else f"sigmoid BCE, {self.class_loss} over the labels"
                parts.append(f"{h.name}: {h.k} logits, {how}, weight {h.weight:g}")
        return "D outputs -> " + "; ".join(parts)

    @property
    def condition_meta(self) -> list[dict]:
        return [h.meta() for h in self.heads]

    def grid_head(self):
        name = self.cfg["conditional"]["grid_head"]
        if name:
            for h in self.heads:
                if h.name == name:
                    return h
            raise UserError(f"conditional.grid_head '{name}' is not a head ({', '.join(h.name for h in self.heads)})")
        return self.heads[0]

    def grid_requests(self, vary: str | None = None, rows: int | None = None, fixed: dict | None = None):
        """Conditions for a grid whose rows vary one condition: (row class indices, {name: per-row value})."""
        head = self.grid_head() if vary is None else next((h for h in self.heads if h.name == vary), None)
        if head is None:
            raise UserError(f"no condition '{vary}' to vary; conditions: {', '.join(h.name for h in self.heads)}")
        n_rows = head.k if rows is None else min(rows, head.k)
        classes = np.round(np.linspace(0, head.k - 1, n_rows)).astype(int) if n_rows < head.k else np.arange(head.k)
        per_row = {}
        for h in self.heads:
            if fixed and h.name in fixed and h is not head:
                continue
            if h is head:
                per_row[h.name] = [int(c) for c in classes]
            elif h.type == "softmax":  # other conditions change with the row too, so rows show combinations
                per_row[h.name] = [int(r % h.k) for r in range(n_rows)]
        return classes, per_row

    def grid_images(self, z_cols, vary=None, rows=None, fixed=None):
        """uint8 images [rows * cols] (row-major): row r has the r-th class of `vary`, column c the noise z_cols[c]."""
        classes, per_row = self.grid_requests(vary, rows, fixed)
        cols = int(z_cols.shape[0])
        n = len(classes) * cols
        req = dict(fixed or {})
        for name, vals in per_row.items():
            req[name] = [v for v in vals for _ in range(cols)]
        for h in self.heads:  # sigmoid conditions not varied and not fixed: one label per row
            if h.name not in req:
                req[h.name] = [[h.classes[r % h.k]] for r in range(len(classes)) for _ in range(cols)]
            elif h.type == "sigmoid" and h.name in per_row:
                req[h.name] = [[h.classes[v]] for v in req[h.name]]
        labels = conditioning.request_arrays(self.condition_meta, n, req)
        z = tf.tile(tf.convert_to_tensor(z_cols, tf.float32), [len(classes), 1])
        return to_uint8(self.generate({"z": z, **_tensors(labels)}, training=False)), cols

    def generate(self, inputs, training=False):
        """Images for {'z': ..., condition: ...}; a bare z tensor (e.g. from an unconditional tool such as
        interpolation) gets balanced default conditions (image i: class i % K of the first condition, ...)."""
        if not isinstance(inputs, dict):
            labels = conditioning.default_arrays(self.condition_meta, int(inputs.shape[0]))
            inputs = {"z": inputs, **_tensors(labels)}
        return super().generate(inputs, training=training)

    def interpolation_inputs(self, z, steps: int):
        """For `interpolate`: the condition stays fixed along each row (row r: class r of the first condition,
        balanced over the others), so a row shows the latent walk alone."""
        rows = max(1, int(len(z)) // int(steps))
        per_row = conditioning.default_arrays(self.condition_meta, rows)
        labels = {k: np.repeat(v, steps, axis=0) for k, v in per_row.items()}
        return {"z": tf.convert_to_tensor(z, tf.float32), **_tensors(labels)}

    def sample_panel(self, n: int):
        head = self.grid_head()
        rows = head.k if head.k <= 16 else 8
        cols = max(1, n // rows)
        images, cols = self.grid_images(self.sample_inputs(cols), rows=rows)
        return make_grid(images, nrow=cols, min_cell=self.grid_cell), images

    def sample_from_seeds(self, seeds, **conditions) -> np.ndarray:
        seeds = np.asarray(seeds, np.int64)
        labels = conditioning.request_arrays(self.condition_meta, len(seeds), conditions)
        z = seeds_to_latent(tf.constant(seeds, tf.int64), self.latent_dim, self.z_std)
        return to_uint8(self.generate({"z": z, **_tensors(labels)}, training=False))

    def evaluation_samples(self, n: int, seed: int = 0, batch_size: int = 256):
        """Images for every condition in turn (balanced), and the labels requested: {name: array}."""
        labels = conditioning.default_arrays(self.condition_meta, n)
        out = []
        for start in range(0, n, batch_size):
            stop = min(n, start + batch_size)
            seeds = latent_seeds(seed, stop - start, start)
            out.append(self.sample_from_seeds(seeds, **{k: v[start:stop] for k, v in labels.items()}))
        return np.concatenate(out), labels

    # ----- export ------------------------------------------------------------------------------------------------
    def export_endpoints(self, archive):
        """serving_default(z, <conditions by name>) -> images; generate(seed, <conditions>) -> images, image_bytes;
        conditions(request [batch]) -> json [batch]: the conditions' names, types and classes as JSON (read by
        `sample` on an export)."""
        conditions = [
            (h.name, tf.TensorSpec([None], tf.int32, name=h.name) if h.type == "softmax"
             else tf.TensorSpec([None, h.k], tf.float32, name=h.name))
            for h in self.heads
        ]
        add_latent_signatures(archive, self.sampling_generator, self.latent_dim, self.z_std, conditions)
        add_json_signature(archive, "conditions", json.dumps(self.condition_meta))
