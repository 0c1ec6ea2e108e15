"""Metrics over training (config section `eval`): Keras callbacks that compute, every `every` epochs, the Fréchet
distance (`fid`), KID (`kid`) and the multi-label score of label sets (`label_score`, the i-CLEVR evaluator) and put them into
the epoch logs, so history.csv, TensorBoard and curves.png record them."""

from __future__ import annotations

import keras

from keras_gans.metrics.fid import feature_stats, frechet_distance
from keras_gans.metrics.kid import kid


class FIDCallback(keras.callbacks.Callback):
    def __init__(self, cfg: dict, every: int, n: int = 1000, features: str | None = None, data: str | None = None,
                 seed: int = 0):
        super().__init__()
        from keras_gans.metrics.features import get_extractor

        self.cfg, self.every, self.n, self.data, self.seed = cfg, int(every), int(n), data, int(seed)
        self.extractor = get_extractor(features)  # fails at once (one clear line) when weights are missing
        self.real_stats = None

    def _real_images(self):
        from keras_gans.data.source import reference_images, training_reference_images

        if self.data:
            d = self.cfg["data"]
            return reference_images(self.data, d["image_size"], d["channels"], self.n, self.seed, progress=False)
        return training_reference_images(self.cfg, self.n, self.seed)

    def on_train_begin(self, logs=None):
        if self.real_stats is None:
            self.real_features = self.extractor.features(self._real_images())
            self.real_stats = feature_stats(self.real_features)
            from keras_gans.metrics.uncertainty import fid_defined

            if not fid_defined(len(self.real_features), self.n, self.real_features.shape[1]):
                import warnings

                warnings.warn(f"eval.n={self.n} ({len(self.real_features)} real images) is not above the "
                              f"{self.real_features.shape[1]} feature dimensions: the fid logged during training is "
                              "not defined there (a singular covariance); read kid, or raise eval.n", stacklevel=2)

    def on_epoch_end(self, epoch, logs=None):
        if (epoch + 1) % self.every or logs is None:
            return
        fake, _ = self.model.evaluation_samples(self.n, seed=self.seed)
        f_fake = self.extractor.features(fake)
        logs["fid"] = frechet_distance(*self.real_stats, *feature_stats(f_fake))
        # KID too (10 subsets: seconds, not minutes): unbiased at any n, the score eval.keep_best follows
        logs["kid"] = kid(self.real_features, f_fake, subsets=10, subset_size=1000, seed=self.seed)[0]


class LabelSetCallback(keras.callbacks.Callback):
    """`label_score` every `every` epochs: one image per label set of eval.label_sets (the same latent seeds every
    time), scored by the multi-label classifier (keras_gans/metrics/multilabel.py)."""

    def __init__(self, every: int, label_sets: str, classifier: str, seed: int = 0):
        super().__init__()
        from keras_gans.metrics.features import ClassifierFeatures

        self.every, self.path, self.seed = int(every), label_sets, int(seed)
        self.extractor = ClassifierFeatures(classifier)  # fails at once (one clear line) when the file is missing
        self.evaluator = None

    def on_train_begin(self, logs=None):
        from keras_gans.metrics.multilabel import LabelSetEvaluator, read_label_sets, requests_for_sets

        from keras_gans.models.capabilities import CONDITIONAL, require

        metas = require(self.model, CONDITIONAL, "eval.label_sets").condition_meta
        sets = read_label_sets(self.path, [m["name"] for m in metas if m["type"] == "softmax"])
        requests_for_sets(metas, sets)  # names the model cannot be asked for: one clear error before training
        self.evaluator = LabelSetEvaluator(self.extractor, sets, seed=self.seed)

    def on_epoch_end(self, epoch, logs=None):
        if (epoch + 1) % self.every or logs is None:
            return
        logs["label_score"] = self.evaluator.evaluate(self.model)[0]["score"]
