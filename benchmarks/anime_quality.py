"""Grade hair/eye-conditioned anime-face generators with a classifier that is not their own D.

    python benchmarks/anime_quality.py --data ../shared/data/anime-faces --model saved_models/acgan [--model RUN ...]

1. A small CNN with two softmax heads (hair, eyes) is trained on 80 % of the real faces (a fixed split by image id)
   and checked on the other 20 % (its held-out accuracy is printed: the ceiling of what it can grade). It is saved
   beside the JSON and reused when it exists.
2. For each generator (a SavedModel export with the `generate` signature, or a run directory):
   - requested-colour accuracy, per class: for each hair colour, N faces with that hair and random eye colours
     (and the same for eyes); the share the classifier names as requested;
   - Frechet distance in the classifier's 256-d feature space between faces generated with the held-out set's own
     (hair, eyes) pairs and the held-out real faces (lower is better; real-vs-real between the two halves of the
     held-out set is printed as the floor);
   - diversity: for 24 (hair, eyes) pairs, 8 noise seeds each: the mean pairwise feature distance among the 8,
     divided by the same quantity for real faces with the same pair (1 = as varied as the real faces, 0 = one
     face per condition), and the share of pairs closer than 10 % of the real mean (near-duplicates).
Results go to --out (JSON) and a table on stdout.
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

HAIR = ["aqua", "black", "blonde", "blue", "brown", "gray", "green", "orange", "pink", "purple", "red", "white"]
EYES = ["aqua", "black", "blue", "brown", "gray", "green", "orange", "pink", "purple", "red", "yellow"]


def load_faces(root: Path, size: int):
    from keras_gans.data.images import load_images

    rows = []
    with open(root / "tags.csv", encoding="utf-8") as f:
        for rid, tags in csv.reader(f):
            w = tags.split()
            rows.append((rid, HAIR.index(w[0]), EYES.index(w[2])))
    paths = [str(root / "images" / f"{r[0]}.jpg") for r in rows]
    images = load_images(paths, size, 3, "fail", progress=False).images
    ids = np.array([int(r[0]) for r in rows])
    hair = np.array([r[1] for r in rows], np.int32)
    eyes = np.array([r[2] for r in rows], np.int32)
    held = (ids * 2654435761 % 2**32) % 5 == 0  # a fixed 20 % split, independent of file order
    return images, hair, eyes, held


def build_classifier(size: int):
    import keras
    from keras import layers

    inp = keras.Input((size, size, 3))
    x = layers.Rescaling(1 / 127.5, offset=-1.0)(inp)
    for f in (32, 64, 128, 256):
        x = layers.Conv2D(f, 3, padding="same", use_bias=False)(x)
        x = layers.BatchNormalization()(x)
        x = layers.ReLU()(x)
        x = layers.Conv2D(f, 3, strides=2, padding="same", use_bias=False)(x)
        x = layers.BatchNormalization()(x)
        x = layers.ReLU()(x)
    x = layers.GlobalAveragePooling2D()(x)
    feats = layers.Dense(256, activation="relu", name="features")(x)
    h = layers.Dense(len(HAIR), activation="softmax", name="hair")(layers.Dropout(0.3)(feats))
    e = layers.Dense(len(EYES), activation="softmax", name="eyes")(layers.Dropout(0.3)(feats))
    model = keras.Model(inp, {"hair": h, "eyes": e, "features": feats})
    return model


def train_classifier(images, hair, eyes, held, epochs: int, path: Path):
    import keras
    import tensorflow as tf

    keras.utils.set_random_seed(0)
    model = build_classifier(images.shape[1])
    trainer = keras.Model(model.input, {"hair": model.output["hair"], "eyes": model.output["eyes"]})
    trainer.compile(keras.optimizers.Adam(1e-3), loss="sparse_categorical_crossentropy",
                    metrics={"hair": "accuracy", "eyes": "accuracy"})
    tr = ~held

    def aug(x, y):
        x = tf.image.random_flip_left_right(x)
        return x, y

    ds = (tf.data.Dataset.from_tensor_slices((images[tr], {"hair": hair[tr], "eyes": eyes[tr]}))
          .shuffle(4096, seed=0).map(aug).batch(64).prefetch(2))
    trainer.fit(ds, epochs=epochs, verbose=2)
    model.save(path)
    return model


def predict(model, images, batch=256):
    out = {"hair": [], "eyes": [], "features": []}
    for s in range(0, len(images), batch):
        r = model(images[s:s + batch], training=False)
        for k in out:
            out[k].append(np.asarray(r[k]))
    return {k: np.concatenate(v) for k, v in out.items()}


class Generator:
    """generate(seeds, hair, eyes) -> uint8 images, from an export or a run directory."""

    def __init__(self, path: str, size: int):
        p = Path(path)
        self.size = size
        if (p / "config.yaml").is_file():
            from keras_gans.training.build import load_run

            _, self.model, epoch = load_run(p)
            self.fn = lambda s, h, e: self.model.sample_from_seeds(s, hair=h, eyes=e)
            self.name = f"{p} (epoch {epoch})"
        else:
            import tensorflow as tf

            from keras_gans.export.savedmodel import load_export

            sig = load_export(p).signatures["generate"]
            self.fn = lambda s, h, e: sig(seed=tf.constant(s, tf.int64), hair=tf.constant(h, tf.int32),
                                          eyes=tf.constant(e, tf.int32))["images"].numpy()
            self.name = str(p)

    def __call__(self, seeds, hair, eyes, batch=128):
        out = []
        for s in range(0, len(seeds), batch):
            x = self.fn(np.asarray(seeds[s:s + batch], np.int64), np.asarray(hair[s:s + batch], np.int32),
                        np.asarray(eyes[s:s + batch], np.int32))
            out.append(x)
        from keras_gans.core.images import resize_uint8

        return resize_uint8(np.concatenate(out), self.size)


def pairwise_mean(f):
    d = np.sqrt(((f[:, None, :] - f[None, :, :]) ** 2).sum(-1))
    iu = np.triu_indices(len(f), 1)
    return d[iu]


def grade(gen, clf, hair, eyes, held, real_feats, n_per_class: int, rng):
    from keras_gans.metrics.fid import fid_from_features

    res = {"model": gen.name}
    present_eyes = sorted(set(eyes.tolist()))
    present_hair = sorted(set(hair.tolist()))
    # requested-colour accuracy per class
    for name, classes, other in (("hair", present_hair, present_eyes), ("eyes", present_eyes, present_hair)):
        per = {}
        for c in classes:
            req = np.full(n_per_class, c, np.int32)
            oth = rng.choice(other, n_per_class).astype(np.int32)
            seeds = rng.integers(0, 2**31, n_per_class)
            imgs = gen(seeds, req, oth) if name == "hair" else gen(seeds, oth, req)
            pred = predict(clf, imgs)[name].argmax(-1)
            per[(HAIR if name == "hair" else EYES)[c]] = float((pred == c).mean())
        res[f"{name}_acc"] = float(np.mean(list(per.values())))
        res[f"{name}_acc_per_class"] = per
    # Frechet distance against the held-out real faces, with their own label pairs
    hh, ee = hair[held], eyes[held]
    seeds = rng.integers(0, 2**31, len(hh))
    fake_feats = predict(clf, gen(seeds, hh, ee))["features"]
    res["fd_features"] = float(fid_from_features(fake_feats, real_feats))
    # diversity within a condition
    pairs = list({(int(a), int(b)) for a, b in zip(hair[held], eyes[held])})
    rng.shuffle(pairs)
    ratios, dup = [], []
    for a, b in pairs[:24]:
        f = predict(clf, gen(rng.integers(0, 2**31, 8), np.full(8, a), np.full(8, b)))["features"]
        real = real_feats[(hh == a) & (ee == b)][:8]
        if len(real) < 3:
            continue
        rmean = pairwise_mean(real).mean()
        d = pairwise_mean(f)
        ratios.append(d.mean() / rmean)
        dup.append(float((d < 0.1 * rmean).mean()))
    res["diversity_ratio"] = float(np.mean(ratios))
    res["near_duplicate_share"] = float(np.mean(dup))
    return res


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", default="../shared/data/anime-faces")
    ap.add_argument("--model", action="append", default=[], help="export dir or run dir (repeatable)")
    ap.add_argument("--size", type=int, default=64)
    ap.add_argument("--epochs", type=int, default=12, help="classifier epochs")
    ap.add_argument("--n-per-class", type=int, default=64)
    ap.add_argument("--classifier", default="benchmarks/results/anime_classifier.keras")
    ap.add_argument("--out", default="benchmarks/results/anime_quality.json")
    args = ap.parse_args()

    import keras

    t0 = time.process_time()
    images, hair, eyes, held = load_faces(Path(args.data), args.size)
    cpath = Path(args.classifier)
    cpath.parent.mkdir(parents=True, exist_ok=True)
    clf = keras.models.load_model(cpath) if cpath.is_file() else train_classifier(images, hair, eyes, held, args.epochs, cpath)
    real = predict(clf, images[held])
    report = {
        "classifier": str(cpath),
        "held_out_real": {
            "n": int(held.sum()),
            "hair_acc": float((real["hair"].argmax(-1) == hair[held]).mean()),
            "eyes_acc": float((real["eyes"].argmax(-1) == eyes[held]).mean()),
        },
    }
    half = len(real["features"]) // 2
    from keras_gans.metrics.fid import fid_from_features

    report["held_out_real"]["fd_real_vs_real"] = float(fid_from_features(real["features"][:half], real["features"][half:]))
    report["models"] = []
    for m in args.model:
        rng = np.random.default_rng(0)
        report["models"].append(grade(Generator(m, args.size), clf, hair, eyes, held, real["features"], args.n_per_class, rng))
    report["cpu_seconds"] = time.process_time() - t0
    Path(args.out).write_text(json.dumps(report, indent=1))
    r = report["held_out_real"]
    print(f"classifier on {r['n']} held-out real faces: hair {r['hair_acc']:.3f}, eyes {r['eyes_acc']:.3f}, "
          f"FD real-vs-real {r['fd_real_vs_real']:.2f}")
    print(f"{'model':50s} {'hair acc':>8s} {'eyes acc':>8s} {'FD':>8s} {'divers.':>8s} {'dups':>6s}")
    for m in report["models"]:
        print(f"{m['model'][:50]:50s} {m['hair_acc']:8.3f} {m['eyes_acc']:8.3f} {m['fd_features']:8.2f} "
              f"{m['diversity_ratio']:8.3f} {m['near_duplicate_share']:6.3f}")


if __name__ == "__main__":
    main()
