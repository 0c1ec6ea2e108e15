"""A small domain classifier CNN the project trains itself, on a labelled folder of class sub-folders.

Its penultimate Dense layer (named `features`) gives the feature space for a Fréchet distance on small images,
where InceptionV3 (trained on 299 px photos) is a poor fit; its softmax gives conditional accuracy and the
per-class histograms of the mode-collapse check. The model takes uint8-valued float images [n, S, S, C] (it
rescales them itself), so no preprocessing has to be remembered. Beside FILE.keras a FILE.json records the class
names (index order = sorted sub-folder names, the same order the data loaders use), the image size, the held-out
test accuracy and the data it was trained on.

With `multilabel=True` (`train-classifier --multilabel`) the head is K independent sigmoids trained with binary
cross-entropy on any labels file the data loaders read (i-CLEVR train.json + objects.json, a tags CSV, an attribute
table): the evaluator of the i-CLEVR lab (keras_gans/metrics/multilabel.py). Its held-out score is the lab's top-k
accuracy (k = the number of true labels of each image).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from keras_gans.core.errors import UserError


def meta_path(path: str | Path) -> Path:
    return Path(path).with_suffix(".json")


def build_classifier(image_size: int, channels: int, num_classes: int, width: int = 32, seed: int = 0,
                     multilabel: bool = False):
    import keras
    from keras import layers

    inp = keras.Input((image_size, image_size, channels), name="image")
    # Shifts by up to 8% (training only); edge pixels are repeated, so no border of a foreign value appears
    # (a constant fill of 0 after rescaling would paint grey borders the test images never have).
    x = layers.RandomTranslation(0.08, 0.08, fill_mode="nearest", seed=seed)(inp)
    x = layers.Rescaling(1.0 / 127.5, offset=-1.0)(x)
    for i, mult in enumerate((1, 2, 4)):
        for j in range(1 if mult == 4 else 2):
            # No batch norm: its moving statistics made inference accuracy fall well below the train-mode
            # accuracy in short trainings (0.92 vs 0.975 on MNIST); this net trains well without it.
            x = layers.Conv2D(width * mult, 3, padding="same", activation="relu", name=f"conv{i}_{j}")(x)
        if mult != 4:
            x = layers.MaxPooling2D()(x)
    x = layers.GlobalAveragePooling2D()(x)
    x = layers.Dense(128, activation="relu", name="features")(x)
    x = layers.Dropout(0.3)(x)
    out = layers.Dense(num_classes, activation="sigmoid" if multilabel else "softmax", name="probs", dtype="float32")(x)
    return keras.Model(inp, out, name="domain_classifier")


def stratified_split(labels: np.ndarray, test_fraction: float, seed: int):
    """(train indices, test indices), the same fraction of every class held out."""
    rng = np.random.default_rng(seed)
    train, test = [], []
    for c in np.unique(labels):
        idx = rng.permutation(np.flatnonzero(labels == c))
        n_test = max(1, int(round(len(idx) * test_fraction)))
        test += idx[:n_test].tolist()
        train += idx[n_test:].tolist()
    return np.array(sorted(train)), np.array(sorted(test))


def train_classifier(data, out, image_size: int = 32, channels: int | None = None, epochs: int = 10,
                     batch_size: int = 128, test_fraction: float = 0.15, seed: int = 0, max_per_class=None,
                     verbose: int | str = "auto", multilabel: bool = False, labels=None, categories=(),
                     ignore_tags=(), max_images=None) -> dict:
    """Train on data's class sub-folders (or, multilabel, on its labels file), save OUT (.keras) and OUT's .json;
    return the metadata."""
    import keras

    from keras_gans.core.io_utils import atomic_path, atomic_write_text

    out = Path(out)
    if out.suffix != ".keras":
        raise UserError(f"--out must end in .keras, got {out}")
    if multilabel:
        return _train_multilabel(data, out, image_size, channels, epochs, batch_size, test_fraction, seed, verbose,
                                 labels, categories, ignore_tags, max_images)
    from keras_gans.data.source import load_class_folders

    x, y, classes = load_class_folders(data, image_size, channels, max_per_class)
    tr, te = stratified_split(y, test_fraction, seed)
    keras.utils.set_random_seed(seed)
    model = build_classifier(image_size, x.shape[-1], len(classes), seed=seed)
    model.compile(keras.optimizers.Adam(1e-3), "sparse_categorical_crossentropy", metrics=["accuracy"])
    xf = x.astype("float32")
    model.fit(xf[tr], y[tr], batch_size=batch_size, epochs=epochs, shuffle=True, verbose=verbose)
    probs = model.predict(xf[te], batch_size=256, verbose=0)
    acc = float(np.mean(probs.argmax(1) == y[te]))
    per_class = {c: float(np.mean(probs[y[te] == i].argmax(1) == i)) for i, c in enumerate(classes)}
    meta = {
        "classes": classes, "image_size": int(image_size), "channels": int(x.shape[-1]), "data": str(Path(data).resolve()),
        "n_train": int(len(tr)), "n_test": int(len(te)), "epochs": int(epochs), "seed": int(seed),
        "test_accuracy": acc, "test_accuracy_per_class": per_class,
    }
    with atomic_path(out, suffix=".keras") as tmp:
        model.save(tmp)
    atomic_write_text(meta_path(out), json.dumps(meta, indent=1))
    return meta


def _train_multilabel(data, out, image_size, channels, epochs, batch_size, test_fraction, seed, verbose, labels,
                      categories, ignore_tags, max_images) -> dict:
    import keras

    from keras_gans.core.io_utils import atomic_path, atomic_write_text
    from keras_gans.metrics.scores import topk_score

    from keras_gans.data.source import load_multilabel

    x, y, classes = load_multilabel(data, image_size, channels, labels, categories, ignore_tags, max_images)
    if len(x) < 4:
        raise UserError(f"{data} has only {len(x)} labelled images; a classifier needs more")
    perm = np.random.default_rng(seed).permutation(len(x))
    n_test = max(1, int(round(len(x) * test_fraction)))
    te, tr = np.sort(perm[:n_test]), np.sort(perm[n_test:])
    keras.utils.set_random_seed(seed)
    model = build_classifier(image_size, x.shape[-1], len(classes), seed=seed, multilabel=True)
    model.compile(keras.optimizers.Adam(1e-3), "binary_crossentropy", metrics=[keras.metrics.BinaryAccuracy(name="acc")])
    xf = x.astype("float32")
    model.fit(xf[tr], y[tr], batch_size=batch_size, epochs=epochs, shuffle=True, verbose=verbose)
    probs = model.predict(xf[te], batch_size=256, verbose=0)
    acc = topk_score(probs, y[te])
    meta = {
        "classes": classes, "multilabel": True, "image_size": int(image_size), "channels": int(x.shape[-1]),
        "data": str(Path(data).resolve()), "labels": str(Path(labels).resolve()) if labels else None,
        "n_train": int(len(tr)), "n_test": int(len(te)), "epochs": int(epochs), "seed": int(seed),
        "test_accuracy": acc, "test_accuracy_kind": "top-k (k = true labels per image)",
        "test_label_accuracy": float(np.mean((probs > 0.5) == (y[te] > 0.5))),
        "test_exact_match": float(np.mean(np.all((probs > 0.5) == (y[te] > 0.5), axis=1))),
    }
    with atomic_path(out, suffix=".keras") as tmp:
        model.save(tmp)
    atomic_write_text(meta_path(out), json.dumps(meta, indent=1))
    return meta


def load_classifier(path: str | Path):
    """(keras model, metadata dict) of a classifier saved by train_classifier."""
    import keras

    path = Path(path)
    if not path.is_file():
        raise UserError(f"classifier file not found: {path}; train one with `python cli.py train-classifier`")
    try:
        model = keras.models.load_model(path, compile=False)
    except Exception as e:  # noqa: BLE001 - any load failure is the user's file
        raise UserError(f"{path} could not be loaded as a Keras model ({str(e).splitlines()[0][:200]})") from None
    try:
        model.get_layer("features")
    except ValueError:
        raise UserError(f"{path} has no layer named 'features'; use a classifier from `python cli.py train-classifier`") from None
    meta = json.loads(meta_path(path).read_text()) if meta_path(path).is_file() else {}
    return model, meta
