"""Feature extractors behind one interface: `extract(images_uint8) -> (features [n, d], probabilities [n, K] or
None)`.

- `InceptionFeatures`: Keras InceptionV3's 2048-d global-average-pool features (the FID/KID/PR space) and, when
  the weights with the ImageNet top are present, its 1000-class probabilities (the Inception Score). Images are
  converted to 3 channels (grey repeated), resized to 299x299 with an antialiased bicubic filter
  (`tf.image.resize(method="bicubic", antialias=True)`, clipped to [0, 255]) and scaled to [-1, 1] as InceptionV3
  expects (`keras.applications.inception_v3.preprocess_input`). Weights come from a local .h5 file or the Keras
  cache (~/.keras/models/, or $KERAS_HOME/models); they are never downloaded: when absent, one UserError says how
  to get them. Note: Keras' InceptionV3 is not the TF-slim graph of the original FID code, so absolute values are
  comparable between runs of this tool, not with published FID tables.
- `ClassifierFeatures`: the project's own domain classifier (`python cli.py train-classifier`), whose
  penultimate layer (`features`) gives a Fréchet distance suited to small images (MNIST-like digits, 64 px
  faces) and whose softmax gives conditional accuracy and per-class histograms.

`get_extractor("inception" | "FILE.h5" | "FILE.keras")` picks one.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from keras_gans.core.errors import UserError

INCEPTION_URL = "https://storage.googleapis.com/tensorflow/keras-applications/inception_v3/"
INCEPTION_FILES = (
    "inception_v3_weights_tf_dim_ordering_tf_kernels.h5",  # with the ImageNet top: features + IS
    "inception_v3_weights_tf_dim_ordering_tf_kernels_notop.h5",  # pool features only
)
INCEPTION_SIZE = 299


def keras_models_dir() -> Path:
    return Path(os.environ.get("KERAS_HOME") or Path.home() / ".keras") / "models"


def find_inception_weights(path: str | os.PathLike | None = None) -> Path:
    """The InceptionV3 ImageNet weights file: `path`, $KERAS_GANS_INCEPTION_WEIGHTS, or the Keras cache."""
    if path:
        p = Path(path).expanduser()
        if not p.is_file():
            raise UserError(f"InceptionV3 weights file not found: {p}; pass the path of the downloaded .h5 file")
        return p
    env = os.environ.get("KERAS_GANS_INCEPTION_WEIGHTS")
    if env:
        return find_inception_weights(env)
    for name in INCEPTION_FILES:
        cand = keras_models_dir() / name
        if cand.is_file():
            return cand
    raise UserError(
        f"InceptionV3 ImageNet weights not found in {keras_models_dir()} (no download is attempted); get them with "
        f"`mkdir -p ~/.keras/models && curl -L -o ~/.keras/models/{INCEPTION_FILES[0]} {INCEPTION_URL}{INCEPTION_FILES[0]}` "
        f"(or the _notop file, features only), or pass --features PATH.h5, or use --features CLASSIFIER.keras "
        "from `python cli.py train-classifier`"
    )


def file_sha256(path) -> str | None:
    """sha256 of a weights/classifier file (a feature extractor's identity in eval.json; two evaluations are
    comparable only when it matches). None when the path is not a file."""
    import hashlib

    p = Path(path)
    if not p.is_file():
        return None
    h = hashlib.sha256()
    with open(p, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def weak_features_floor(num_classes: int) -> float:
    """The held-out accuracy a feature classifier must reach to be trusted: halfway between chance (1/K) and
    perfect. Measured: a 1-epoch classifier at chance (0.10 on 10 digits) gave FID 0.0024 and precision 0.91 for a
    bad generator, because its features put every image in the same place."""
    chance = 1.0 / max(int(num_classes), 1)
    return chance + 0.5 * (1.0 - chance)


def check_feature_classifier(extractor, allow_weak: bool = False) -> str | None:
    """One line with a classifier extractor's held-out accuracy (None for other extractors); UserError when it is
    unknown or below weak_features_floor, unless allow_weak."""
    if getattr(extractor, "name", None) != "classifier":
        return None
    meta = getattr(extractor, "meta", {}) or {}
    acc, k = meta.get("test_accuracy"), int(extractor.num_classes)
    chance, floor = 1.0 / max(k, 1), weak_features_floor(k)
    kind = "top-k accuracy" if meta.get("multilabel") else "accuracy"
    if acc is None:
        line = f"feature classifier {extractor.path.name}: held-out {kind} unknown (no {extractor.path.with_suffix('.json').name})"
    else:
        line = (f"feature classifier {extractor.path.name}: held-out {kind} {float(acc):.3f} on {meta.get('n_test', '?')} "
                f"images ({k} {'labels' if meta.get('multilabel') else 'classes'}, chance {chance:.2f}, floor {floor:.2f})")
    if (acc is None or float(acc) < floor) and not allow_weak:
        why = "unknown" if acc is None else f"{float(acc):.3f}, below the floor {floor:.2f} (chance {chance:.2f})"
        raise UserError(f"the feature classifier {extractor.path} has held-out {kind} {why}: its features cannot tell "
                        "good images from bad; train it longer with `python cli.py train-classifier`, or pass "
                        "--allow-weak-features to score with it anyway")
    return line


def _to_channels(x, channels: int):
    """uint8/float images [n, H, W, C] -> float32 with `channels` channels (grey repeated, or luminance)."""
    import tensorflow as tf

    x = tf.cast(x, tf.float32)
    c = x.shape[-1]
    if c == channels:
        return x
    if c == 1 and channels == 3:
        return tf.repeat(x, 3, axis=-1)
    if c == 3 and channels == 1:
        return tf.reduce_sum(x * tf.constant([0.299, 0.587, 0.114]), axis=-1, keepdims=True)
    raise UserError(f"cannot feed {c}-channel images to a {channels}-channel feature extractor")


def resize_images(x, size: int):
    """Antialiased bicubic resize to size x size (the one documented filter), clipped to [0, 255]."""
    import tensorflow as tf

    if x.shape[1] == size and x.shape[2] == size:
        return x
    return tf.clip_by_value(tf.image.resize(x, [size, size], method="bicubic", antialias=True), 0.0, 255.0)


class FeatureExtractor:
    """Interface: `extract(images_uint8, progress=False) -> (features, probs or None)`; `describe()` for eval.json."""

    name = "base"
    dim = 0
    has_probabilities = False
    num_classes = 0
    batch_size = 64

    def _run(self, batch):  # -> (features, probs or None) as numpy
        raise NotImplementedError

    def extract(self, images, progress: bool = False):
        images = np.asarray(images)
        if images.ndim != 4:
            raise ValueError(f"images must be [n, H, W, C], got {images.shape}")
        bar = None
        if progress:
            from keras_gans.core.io_utils import progbar

            bar = progbar(len(images), "image")  # plain lines when stdout is a log
        feats, probs = [], []
        for s in range(0, len(images), self.batch_size):
            f, p = self._run(images[s : s + self.batch_size])
            feats.append(f)
            if p is not None:
                probs.append(p)
            if bar is not None:
                bar.update(min(len(images), s + self.batch_size))
        f = np.concatenate(feats).astype(np.float64) if feats else np.zeros((0, self.dim))
        p = np.concatenate(probs).astype(np.float64) if probs else None
        return f, p

    def features(self, images, progress: bool = False) -> np.ndarray:
        return self.extract(images, progress)[0]

    def describe(self) -> dict:
        return {"name": self.name, "dim": self.dim}


class InceptionFeatures(FeatureExtractor):
    """InceptionV3 pool features (2048-d). weights: 'imagenet' (find the file, never download), a path to an
    .h5 file, or None (random weights; for tests of the pipeline only)."""

    name = "inception"
    dim = 2048
    batch_size = 32

    def __init__(self, weights: str | os.PathLike | None = "imagenet"):
        import keras

        self.weights_path = None
        if weights is None:
            base = keras.applications.InceptionV3(weights=None, include_top=False, pooling="avg")
            self.model, self.has_probabilities = base, False
        else:
            self.weights_path = find_inception_weights(None if weights == "imagenet" else weights)
            self.model = self._load(self.weights_path)
        self.num_classes = 1000 if self.has_probabilities else 0
        self._fn = None

    def _load(self, path: Path):
        import keras

        errors = []
        for top in ((False,) if "notop" in path.name else (True, False)):
            try:
                if top:
                    full = keras.applications.InceptionV3(weights=str(path), include_top=True)
                    self.has_probabilities = True
                    return keras.Model(full.input, [full.get_layer("avg_pool").output, full.output])
                self.has_probabilities = False
                return keras.applications.InceptionV3(weights=str(path), include_top=False, pooling="avg")
            except (ValueError, OSError, KeyError) as e:
                errors.append(str(e).splitlines()[0] if str(e) else type(e).__name__)
        raise UserError(f"{path} is not an InceptionV3 ImageNet weights file ({'; '.join(errors)})")

    def _run(self, batch):
        import keras
        import tensorflow as tf

        if self._fn is None:

            @tf.function
            def fn(x):
                x = resize_images(x, INCEPTION_SIZE)
                x = keras.applications.inception_v3.preprocess_input(x)
                return self.model(x, training=False)

            self._fn = fn
        out = self._fn(_to_channels(batch, 3))
        if self.has_probabilities:
            return out[0].numpy(), out[1].numpy()
        return out.numpy(), None

    def describe(self) -> dict:
        return {
            "name": self.name, "dim": self.dim, "weights": str(self.weights_path) if self.weights_path else None,
            "layer": "avg_pool", "resize": f"bicubic antialias {INCEPTION_SIZE}x{INCEPTION_SIZE}",
            "probabilities": self.has_probabilities,
            "sha256": file_sha256(self.weights_path) if self.weights_path else None,
        }


class ClassifierFeatures(FeatureExtractor):
    """The project's domain classifier (.keras from train-classifier): penultimate `features` + softmax."""

    name = "classifier"
    has_probabilities = True
    batch_size = 256

    def __init__(self, path: str | os.PathLike):
        from keras_gans.metrics.classifier import load_classifier

        self.path = Path(path)
        self.model, self.meta = load_classifier(self.path)
        self.input_size = int(self.model.input_shape[1])
        self.channels = int(self.model.input_shape[-1])
        import keras

        feat = self.model.get_layer("features").output
        self.both = keras.Model(self.model.input, [feat, self.model.output])
        self.dim = int(feat.shape[-1])
        self.num_classes = int(self.model.output.shape[-1])
        self._fn = None

    def _run(self, batch):
        import tensorflow as tf

        if self._fn is None:

            @tf.function
            def fn(x):
                return self.both(resize_images(x, self.input_size), training=False)

            self._fn = fn
        f, p = self._fn(_to_channels(batch, self.channels))
        return f.numpy(), p.numpy()

    def describe(self) -> dict:
        return {
            "name": self.name, "dim": self.dim, "path": str(self.path.resolve()), "layer": "features",
            "input_size": self.input_size, "channels": self.channels, "classes": self.meta.get("classes"),
            "test_accuracy": self.meta.get("test_accuracy"), "n_test": self.meta.get("n_test"),
            "resize": f"bicubic antialias {self.input_size}x{self.input_size}", "sha256": file_sha256(self.path),
        }


def get_extractor(spec: str | None) -> FeatureExtractor:
    """'inception' (weights from the Keras cache), a path to InceptionV3 .h5 weights, or a classifier .keras."""
    spec = spec or "inception"
    if spec == "inception":
        return InceptionFeatures("imagenet")
    p = Path(spec)
    if p.suffix == ".h5":
        return InceptionFeatures(p)
    if p.suffix == ".keras":
        if not p.is_file():
            raise UserError(f"classifier file not found: {p}; train one with `python cli.py train-classifier --data DIR --out {p}`")
        return ClassifierFeatures(p)
    raise UserError(f"--features must be 'inception', an InceptionV3 .h5 weights file or a classifier .keras file; got {spec!r}")
