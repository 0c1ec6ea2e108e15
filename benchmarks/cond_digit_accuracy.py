"""Conditional accuracy of a digits ACGAN/cGAN run: the fraction of generated samples that an independent digit
classifier assigns to the requested class.

The classifier is a small Keras CNN trained here on 8,000 of the real MNIST test digits (../shared/data/mnist-test-png,
PNG class folders) and checked on the other 2,000; it never sees the GAN's discriminator. Samples are drawn with
`model.evaluation_samples` (balanced over the 10 classes, labels returned), resized to 28 px when needed.

    python benchmarks/cond_digit_accuracy.py RUN_DIR [--n 2000] [--data ../shared/data/mnist-test-png]
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def train_classifier(data_dir: str, cache: Path, epochs: int = 4):
    import keras
    import numpy as np

    from keras_gans.data.source import load_class_folders

    if cache.is_file():
        return keras.models.load_model(cache), None
    images, y, _ = load_class_folders(data_dir, 28, 1)
    x = images.astype("float32") / 127.5 - 1.0
    rng = np.random.default_rng(0)
    perm = rng.permutation(len(x))
    tr, te = perm[:8000], perm[8000:]
    keras.utils.set_random_seed(0)
    m = keras.Sequential([
        keras.Input((28, 28, 1)),
        keras.layers.Conv2D(32, 3, activation="relu"), keras.layers.MaxPooling2D(),
        keras.layers.Conv2D(64, 3, activation="relu"), keras.layers.MaxPooling2D(),
        keras.layers.Flatten(), keras.layers.Dropout(0.3), keras.layers.Dense(128, activation="relu"),
        keras.layers.Dense(10),
    ])
    m.compile("adam", keras.losses.SparseCategoricalCrossentropy(from_logits=True), metrics=["accuracy"])
    m.fit(x[tr], y[tr], batch_size=128, epochs=epochs, verbose=2)
    acc = float(m.evaluate(x[te], y[te], verbose=0)[1])
    cache.parent.mkdir(parents=True, exist_ok=True)
    m.save(cache)
    return m, acc


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("run")
    ap.add_argument("--n", type=int, default=2000)
    ap.add_argument("--data", default=str(Path(__file__).resolve().parents[2] / "shared/data/mnist-test-png"))
    ap.add_argument("--classifier", default="/tmp/keras_gans_digit_classifier.keras")
    a = ap.parse_args()

    import numpy as np
    import tensorflow as tf

    from keras_gans.training.build import load_run

    clf, held_out = train_classifier(a.data, Path(a.classifier))
    if held_out is not None:
        print(f"classifier accuracy on 2,000 held-out real MNIST digits: {held_out:.4f}")
    cfg, model, epoch = load_run(a.run)
    images, labels = model.evaluation_samples(a.n, seed=10)  # latent seeds 1,000,000+i: those of the documented numbers
    req = next(iter(labels.values()))
    x = tf.image.resize(images.astype("float32"), (28, 28)).numpy() if images.shape[1] != 28 else images.astype("float32")
    if x.shape[-1] == 3:
        x = x.mean(-1, keepdims=True)
    pred = np.argmax(clf.predict(x / 127.5 - 1.0, verbose=0), -1)
    acc = float(np.mean(pred == req))
    per_class = [float(np.mean(pred[req == c] == c)) for c in range(10)]
    print(f"run {a.run} (epoch {epoch}): {a.n} samples, fraction assigned to the requested class: {acc:.4f}")
    print("per class: " + " ".join(f"{c}:{v:.2f}" for c, v in enumerate(per_class)))


if __name__ == "__main__":
    main()
