"""Grade a photo -> ukiyo-e CycleGAN with measures that are not its own discriminators.

    python benchmarks/ukiyoe_quality.py --data ../shared/data/ukiyoe2photo --model saved_models/ukiyoe [--model RUN ...]

- style: a small photo-vs-print CNN trained on trainA (prints) and trainB (photos) at 64 px, checked on testA/testB
  (its held-out accuracy is printed); reported: the share of *transferred* test photos it calls prints (the
  untouched test photos are the baseline);
- structure: the correlation between the Sobel edge magnitude of each test photo and of its transferred version
  (1 = the same edges; the photo against an unrelated print is the floor), and the cycle reconstruction error
  |style2photo(photo2style(x)) - x| (mean absolute error in [0, 255] units) on the test photos.
The data side holding photos is read from the export's `directions` signature (ukiyoe2photo: B = photos).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def load_side(root: Path, sub: str, size: int):
    from keras_gans.data.source import load_folder

    return load_folder(root / sub, size, 3, "fail", progress=False).images


def build_classifier(size: int):
    import keras
    from keras import layers

    inp = keras.Input((size, size, 3))
    x = layers.Rescaling(1 / 127.5, offset=-1.0)(inp)
    for f in (16, 32, 64, 128):
        x = layers.Conv2D(f, 3, strides=2, padding="same", activation="relu")(x)
    x = layers.GlobalAveragePooling2D()(x)
    out = layers.Dense(1, activation="sigmoid")(layers.Dropout(0.3)(x))
    return keras.Model(inp, out)


def edges(images):
    import tensorflow as tf

    g = tf.image.rgb_to_grayscale(tf.cast(images, tf.float32))
    s = tf.image.sobel_edges(g)
    return tf.sqrt(tf.reduce_sum(tf.square(s), -1))[..., 0].numpy()


def edge_corr(a, b):
    ea, eb = edges(a).reshape(len(a), -1), edges(b).reshape(len(b), -1)
    ea = ea - ea.mean(1, keepdims=True)
    eb = eb - eb.mean(1, keepdims=True)
    return float(np.mean((ea * eb).sum(1) / (np.linalg.norm(ea, axis=1) * np.linalg.norm(eb, axis=1) + 1e-8)))


def translator(path: str):
    """(fn(images uint8, direction) -> uint8, photo2style, style2photo, name, the size a run was trained at)."""
    p = Path(path)
    if (p / "config.yaml").is_file():
        from keras_gans.models.cyclegan import style_directions
        from keras_gans.train import load_run

        cfg, model, epoch = load_run(p)
        d = style_directions(cfg["cyclegan"]["photo_domain"])
        fn = (lambda x, k: model.transfer(x, k))  # noqa: E731
        return fn, d["photo2style"], d["style2photo"], f"{p} (epoch {epoch})", int(cfg["data"]["image_size"])
    import tensorflow as tf

    from keras_gans.export import load_export, read_json_signature

    loaded = load_export(p)
    d = read_json_signature(loaded.signatures, "directions")
    back = d["style2photo"] if d["style2photo"] in loaded.signatures else None  # a to_style export has one direction
    return (lambda x, k: loaded.signatures[k](images=tf.constant(x))["images"].numpy()), d["photo2style"], back, str(p), None


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", default="../shared/data/ukiyoe2photo")
    ap.add_argument("--model", action="append", default=[])
    ap.add_argument("--size", type=int, default=64)
    ap.add_argument("--photo-side", default="B", help="the data side that holds photos (ukiyoe2photo: B)")
    ap.add_argument("--epochs", type=int, default=15)
    ap.add_argument("--classifier", default="benchmarks/results/ukiyoe_classifier.keras")
    ap.add_argument("--out", default="benchmarks/results/ukiyoe_quality.json")
    args = ap.parse_args()

    import keras

    from keras_gans.images import resize_uint8

    t0 = time.process_time()
    root = Path(args.data)
    ps, ss = args.photo_side, "A" if args.photo_side == "B" else "B"
    train_p, train_s = load_side(root, f"train{ps}", args.size), load_side(root, f"train{ss}", args.size)
    test_p, test_s = load_side(root, f"test{ps}", args.size), load_side(root, f"test{ss}", args.size)
    cpath = Path(args.classifier)
    cpath.parent.mkdir(parents=True, exist_ok=True)
    if cpath.is_file():
        clf = keras.models.load_model(cpath)
    else:
        keras.utils.set_random_seed(0)
        clf = build_classifier(args.size)
        clf.compile("adam", "binary_crossentropy", metrics=["accuracy"])
        x = np.concatenate([train_p, train_s, train_p[:, :, ::-1], train_s[:, :, ::-1]])
        y = np.concatenate([np.zeros(len(train_p)), np.ones(len(train_s))] * 2).astype(np.float32)
        clf.fit(x, y, epochs=args.epochs, batch_size=32, shuffle=True, verbose=2)
        clf.save(cpath)
    is_print = lambda imgs: (np.asarray(clf.predict(imgs, verbose=0))[:, 0] > 0.5)  # noqa: E731
    report = {
        "classifier_test_acc": float(np.mean(np.concatenate([~is_print(test_p), is_print(test_s)]))),
        "test_photos_called_prints": float(is_print(test_p).mean()),
        "edge_corr_photo_vs_unrelated_print": edge_corr(test_p[: len(test_s)], test_s[: len(test_p)]),
        "models": [],
    }
    for m in args.model:
        fn, to_style, to_photo, name, native = translator(m)
        # a run trained at another size transfers the test photos at its own size; the grades are taken at --size
        src = test_p if native in (None, args.size) else load_side(root, f"test{ps}", native)
        styled = np.concatenate([fn(src[i:i + 16], to_style) for i in range(0, len(src), 16)])
        back = np.concatenate([fn(styled[i:i + 16], to_photo) for i in range(0, len(styled), 16)]) if to_photo else None
        styled, back = resize_uint8(styled, args.size), None if back is None else resize_uint8(back, args.size)
        report["models"].append({
            "model": name,
            "transferred_called_prints": float(is_print(styled).mean()),
            "edge_corr": edge_corr(test_p, styled),
            "cycle_mae": None if back is None else float(np.abs(back.astype(np.float32) - test_p.astype(np.float32)).mean()),
        })
    report["cpu_seconds"] = time.process_time() - t0
    Path(args.out).write_text(json.dumps(report, indent=1))
    print(f"photo-vs-print classifier: held-out accuracy {report['classifier_test_acc']:.3f}; untouched test photos "
          f"called prints {report['test_photos_called_prints']:.3f}; edge corr photo vs unrelated print "
          f"{report['edge_corr_photo_vs_unrelated_print']:.3f}")
    for r in report["models"]:
        print(f"{r['model'][:50]:50s} called prints {r['transferred_called_prints']:.3f}  edge corr {r['edge_corr']:.3f}  "
              f"cycle MAE {'n/a (one-direction export)' if r['cycle_mae'] is None else format(r['cycle_mae'], '.1f')}")


if __name__ == "__main__":
    main()
