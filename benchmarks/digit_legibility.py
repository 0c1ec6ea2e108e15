"""How many generated digits a reader would call legible: the share of samples an independent MNIST classifier reads
with confidence >= 0.9, the class histogram of those reads, and its KL divergence to the uniform ten classes.

The grader is a small Keras CNN trained here on real MNIST digits that the package does NOT ship: the 10,000 MNIST
test digits (../shared/data/mnist) less the 5,000 in keras_gans/data/mnist_5k.npz, which the `dcgan` preset trains
on. Of those 5,000 unshipped digits, 4,000 train it (with small shifts and rotations) and 1,000 are held out; its
accuracy on them and on the 5,000 shipped digits (which it never saw) is reported. It is not the GAN's D.

Negative controls, scored like a generator (they must fail): real digits blurred past legibility (Gaussian, sigma
2.5 px), smoothed noise, and a collapsed "generator" that draws 1,000 different real 1s (confidently read, but one
class: the histogram and KL give it away). The positive controls are 1,000 real held-out digits and 1,000 of the
shipped digits the GAN learns from (what a perfect generator would score).

    python benchmarks/digit_legibility.py RUN_OR_EXPORT [...] [--n 1000] [--json out.json] [--figure out.png]
    python benchmarks/digit_legibility.py --controls          # the grader's own numbers only

A sample set passes when >= 90 % of samples are read with confidence >= 0.9 and every class is >= 5 % of all
samples (`python cli.py train dcgan`'s target, issue 29). Samples: the export's `generate` signature on latent
seeds 0..n-1 (what `sample --seed 0` draws), so the number is the published generator's.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from keras_gans.core import quiet  # noqa: E402

quiet.install()

MNIST = ROOT.parent / "shared" / "data" / "mnist"
CACHE = ROOT / "benchmarks" / "results" / "digit_legibility_grader.keras"  # gitignored (*.keras)
CONFIDENT, PASS_SHARE, MIN_CLASS = 0.9, 0.90, 0.05


def load_mnist_split(mnist_dir: Path = MNIST):
    """(unshipped images, labels), (shipped images, labels): uint8 [N, 28, 28] of the MNIST test set."""
    import numpy as np

    from keras_gans.data.builtin import MNIST_FILE
    from keras_gans.data.idx import read_idx

    images = read_idx(mnist_dir / "t10k-images-idx3-ubyte.gz")
    labels = read_idx(mnist_dir / "t10k-labels-idx1-ubyte.gz").astype(np.int64)
    with np.load(MNIST_FILE) as f:
        shipped = np.asarray(f["test_index"], np.int64)
    mask = np.zeros(len(images), bool)
    mask[shipped] = True
    return (images[~mask], labels[~mask]), (images[mask], labels[mask])


def train_grader(mnist_dir: Path = MNIST, cache: Path = CACHE, epochs: int = 15):
    """(classifier, report): trained on 4,000 unshipped digits, checked on the other 1,000 and on the shipped 5,000.
    Cached (the report beside it as JSON): the second call costs nothing."""
    import keras
    import numpy as np

    meta_path = cache.with_suffix(".json")
    if cache.is_file() and meta_path.is_file():
        return keras.models.load_model(cache), json.loads(meta_path.read_text())
    (x, y), (xs, ys) = load_mnist_split(mnist_dir)
    perm = np.random.default_rng(0).permutation(len(x))
    tr, te = perm[:4000], perm[4000:]
    keras.utils.set_random_seed(0)
    L = keras.layers
    m = keras.Sequential([
        keras.Input((28, 28, 1)),
        L.RandomTranslation(0.08, 0.08, fill_mode="constant", fill_value=-1.0),
        L.RandomRotation(0.03, fill_mode="constant", fill_value=-1.0),
        L.Conv2D(32, 3, padding="same", activation="relu"), L.Conv2D(32, 3, activation="relu"), L.MaxPooling2D(),
        L.Conv2D(64, 3, padding="same", activation="relu"), L.Conv2D(64, 3, activation="relu"), L.MaxPooling2D(),
        L.Flatten(), L.Dropout(0.4), L.Dense(256, activation="relu"), L.Dropout(0.3), L.Dense(10),
    ])
    m.compile(keras.optimizers.Adam(1e-3), keras.losses.SparseCategoricalCrossentropy(from_logits=True),
              metrics=["accuracy"])
    m.fit(_x(x[tr]), y[tr], batch_size=64, epochs=epochs, verbose=0)
    report = {"train_digits": int(len(tr)), "epochs": epochs,
              "held_out_accuracy": float(m.evaluate(_x(x[te]), y[te], verbose=0)[1]), "held_out_digits": int(len(te)),
              "shipped_accuracy": float(m.evaluate(_x(xs), ys, verbose=0)[1]), "shipped_digits": int(len(xs))}
    cache.parent.mkdir(parents=True, exist_ok=True)
    m.save(cache)
    meta_path.write_text(json.dumps(report, indent=1))
    return m, report


def _x(images):
    import numpy as np

    x = np.asarray(images, np.float32)
    if x.ndim == 3:
        x = x[..., None]
    if x.shape[-1] == 3:
        x = x.mean(-1, keepdims=True)
    return x / 127.5 - 1.0


def grade(clf, images) -> dict:
    """The numbers of one sample set (uint8 [N, 28, 28(, 1)])."""
    import numpy as np

    logits = clf.predict(_x(images), batch_size=500, verbose=0)
    p = np.exp(logits - logits.max(-1, keepdims=True))
    p /= p.sum(-1, keepdims=True)
    pred, conf = p.argmax(-1), p.max(-1)
    hist = np.bincount(pred, minlength=10) / len(pred)
    kl = float(np.sum(hist[hist > 0] * np.log(hist[hist > 0] * 10)))
    share = float(np.mean(conf >= CONFIDENT))
    return {"n": int(len(pred)), "confident_share": share, "class_share": [round(float(h), 4) for h in hist],
            "min_class_share": float(hist.min()), "kl_to_uniform": kl, "mean_confidence": float(conf.mean()),
            "passes": bool(share >= PASS_SHARE and hist.min() >= MIN_CLASS), "pred": pred, "conf": conf}


def controls(clf, mnist_dir: Path = MNIST, n: int = 1000) -> dict:
    """Real held-out digits (must pass) and three that must fail: blurred, smoothed noise, one collapsed class."""
    import numpy as np
    import tensorflow as tf

    (x, y), (xs, _) = load_mnist_split(mnist_dir)
    held = x[np.random.default_rng(0).permutation(len(x))[4000:]][:n]
    shipped = xs[np.random.default_rng(2).permutation(len(xs))[:n]]
    rng = np.random.default_rng(1)

    def blur(images, sigma):
        r = int(3 * sigma)
        k = np.exp(-0.5 * (np.arange(-r, r + 1) / sigma) ** 2)
        k = (k / k.sum()).astype(np.float32)
        t = tf.constant(np.asarray(images, np.float32)[..., None])
        t = tf.nn.depthwise_conv2d(t, k.reshape(-1, 1, 1, 1), [1, 1, 1, 1], "SAME")
        t = tf.nn.depthwise_conv2d(t, k.reshape(1, -1, 1, 1), [1, 1, 1, 1], "SAME")
        return np.clip(np.round(t.numpy()[..., 0]), 0, 255).astype(np.uint8)

    noise = blur(rng.integers(0, 256, (n, 28, 28)), 1.0)
    noise = np.clip((noise.astype(np.float32) - 128) * 4 + 128, 0, 255).astype(np.uint8)  # blobs with contrast
    ones = x[y == 1]
    collapsed = ones[rng.integers(0, len(ones), n)]
    sets = {"real held-out digits (must pass)": held, "real shipped digits, the GAN's data (must pass)": shipped,
            "blurred real digits, sigma 2.5 px (must fail)": blur(held, 2.5),
            "smoothed noise (must fail)": noise, "collapsed: 1,000 real 1s (must fail)": collapsed}
    return {k: grade(clf, v) for k, v in sets.items()}


def generated(source: str, n: int):
    """uint8 [n, 28, 28, 1]: the export's `generate` signature on latent seeds 0..n-1 (a run dir or an export)."""
    import numpy as np
    import tensorflow as tf

    from keras_gans.export.savedmodel import load_export

    gen = load_export(source).signatures["generate"]
    out = [gen(seed=tf.constant(np.arange(s, min(s + 250, n), dtype=np.int64)))["images"].numpy()
           for s in range(0, n, 250)]
    images = np.concatenate(out)
    if images.shape[1:3] != (28, 28):
        from keras_gans.core.images import resize_uint8

        images = resize_uint8(images, 28)
    return images


def line(name: str, g: dict) -> str:
    hist = " ".join(f"{c}:{h * 100:.1f}" for c, h in enumerate(g["class_share"]))
    return (f"{name}: confident {g['confident_share'] * 100:.1f} %, min class {g['min_class_share'] * 100:.1f} %, "
            f"KL {g['kl_to_uniform']:.3f}, {'PASS' if g['passes'] else 'fail'}  [{hist}]")


def figure(images, g: dict, path: Path, title: str, k: int = 100):
    """The first k samples (10 per row) each framed green (read with confidence >= 0.9; the digit read above it)
    or red, beside the class histogram of all n samples with the 5 % floor."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    from keras_gans.core.io_utils import save_figure

    cols, cell, pad = 10, 56, 4
    rows = int(np.ceil(min(k, len(images)) / cols))
    canvas = np.full((rows * (cell + pad) + pad, cols * (cell + pad) + pad, 3), 255, np.uint8)
    for i in range(min(k, len(images))):
        r, c = divmod(i, cols)
        y0, x0 = pad + r * (cell + pad), pad + c * (cell + pad)
        ok = g["conf"][i] >= CONFIDENT
        canvas[y0 - 2:y0 + cell + 2, x0 - 2:x0 + cell + 2] = (40, 160, 60) if ok else (220, 40, 40)
        tile = np.repeat(np.repeat(np.asarray(images[i]).reshape(28, 28), 2, 0), 2, 1)
        canvas[y0:y0 + cell, x0:x0 + cell] = tile[..., None]
    fig, (a, b) = plt.subplots(1, 2, figsize=(11, 6.2), gridspec_kw={"width_ratios": [1.15, 1]})
    a.imshow(canvas, interpolation="nearest")
    a.set_axis_off()
    for i in range(min(k, len(images))):
        r, c = divmod(i, cols)
        if g["conf"][i] >= CONFIDENT:
            a.text(pad + c * (cell + pad) + 3, pad + r * (cell + pad) + 11, str(g["pred"][i]), color=(0.1, 0.6, 0.2),
                   fontsize=7, fontweight="bold")
    a.set_title(f"first {min(k, len(images))} samples: green = read with confidence >= 0.9, red = not", fontsize=9)
    b.bar(range(10), np.array(g["class_share"]) * 100, color="#4a7fb0")
    b.axhline(10, color="gray", lw=0.8, ls=":")
    b.axhline(MIN_CLASS * 100, color="red", lw=0.8, ls="--", label="5 % floor")
    b.set_xticks(range(10))
    b.set_xlabel("digit read by the grader")
    b.set_ylabel(f"% of {g['n']} samples")
    b.legend(fontsize=8)
    b.set_title(f"confident {g['confident_share'] * 100:.1f} %, min class {g['min_class_share'] * 100:.1f} %, "
                f"KL to uniform {g['kl_to_uniform']:.3f}", fontsize=9)
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    save_figure(fig, path, dpi=80, palette=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("sources", nargs="*", help="run directories or SavedModel exports (unconditional 28 px G)")
    ap.add_argument("--n", type=int, default=1000)
    ap.add_argument("--controls", action="store_true", help="also score the grader's positive and negative controls")
    ap.add_argument("--mnist", default=str(MNIST), help="folder with t10k-images/labels idx files")
    ap.add_argument("--json", help="write every number here")
    ap.add_argument("--figure", help="the grader's figure of the first source here")
    ap.add_argument("--title", default="", help="the figure's title")
    a = ap.parse_args()
    if not a.sources and not a.controls:
        ap.error("name a run or an export, or --controls")
    clf, report = train_grader(Path(a.mnist))
    print(f"grader: held-out accuracy {report['held_out_accuracy']:.4f} on {report['held_out_digits']} unshipped "
          f"digits, {report['shipped_accuracy']:.4f} on the {report['shipped_digits']} shipped digits "
          f"(trained on {report['train_digits']} others)")
    out = {"grader": report, "controls": {}, "sources": {}}
    if a.controls:
        for name, g in controls(clf, Path(a.mnist), a.n).items():
            print(line(name, g))
            out["controls"][name] = {k: v for k, v in g.items() if k not in ("pred", "conf")}
    for i, src in enumerate(a.sources):
        images = generated(src, a.n)
        g = grade(clf, images)
        print(line(src, g))
        out["sources"][src] = {k: v for k, v in g.items() if k not in ("pred", "conf")}
        if i == 0 and a.figure:
            figure(images, g, Path(a.figure), a.title or src)
    if a.json:
        Path(a.json).write_text(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
