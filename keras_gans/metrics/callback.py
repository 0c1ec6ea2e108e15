"""FID over training: a Keras callback that computes the Fréchet distance every `every` epochs and puts `fid`
into the epoch logs, so history.csv and TensorBoard record it (config section `eval`)."""

from __future__ import annotations

import keras
import numpy as np

from keras_gans.metrics.fid import feature_stats, frechet_distance


class FIDCallback(keras.callbacks.Callback):
    def __init__(self, cfg: dict, every: int, n: int = 1000, features: str | None = None, data: str | None = None,
                 seed: int = 0):
        super().__init__()
        from keras_gans.metrics.features import get_extractor

        self.cfg, self.every, self.n, self.data, self.seed = cfg, int(every), int(n), data, int(seed)
        self.extractor = get_extractor(features)  # fails at once (one clear line) when weights are missing
        self.real_stats = None

    def _real_images(self):
        from keras_gans.train import load_image_set

        if self.data:
            from keras_gans.data.images import find_images, load_images

            paths = find_images(self.data)
            d = self.cfg["data"]
            images = load_images(paths, d["image_size"], d["channels"], progress=False).images
        else:
            images = load_image_set(self.cfg, progress=False).images
        if len(images) > self.n:
            images = images[np.sort(np.random.default_rng(self.seed).choice(len(images), self.n, replace=False))]
        return images

    def on_train_begin(self, logs=None):
        if self.real_stats is None:
            self.real_stats = feature_stats(self.extractor.features(self._real_images()))

    def on_epoch_end(self, epoch, logs=None):
        if (epoch + 1) % self.every or logs is None:
            return
        fake, _ = self.model.evaluation_samples(self.n, seed=self.seed)
        logs["fid"] = frechet_distance(*self.real_stats, *feature_stats(self.extractor.features(fake)))
