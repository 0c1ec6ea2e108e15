"""Grade a photo -> ukiyo-e translator with measures a smear cannot pass (none of them is the model's own D).

    python benchmarks/ukiyoe_quality.py --model saved_models/ukiyoe --model RUN [--outputs FOLDER ...]
    python benchmarks/ukiyoe_quality.py --sheet docs/img/ukiyoe_before_now.png --outputs old/ --outputs new/

On the 50 test photos (testB), each translated at its own size (256 px):

- **called prints**: a print-vs-photo CNN of our own judges the *centre square* of each output (70 % of the shorter
  side: no margin, frame or cartouche cue) at 128 px. Its positives are interior crops of the training prints; its
  negatives are the training photos *and the same photos made to look like failed translations* (blurred to ~32 px
  and back, pixelated, mottled with coloured noise, speckled at 64 px and blown up, faded towards paper, JPEG-blocked,
  or soft, mottled and pale at once:
  keras_gans/metrics/translation.py), and photos, sharp or degraded, recoloured to a print's palette, so only
  print-like structure scores (not a palette). Every view, print or photo, is first
  brought down to a random 64-128 px and back up, so sharpness is no cue either (the prints are ~120 px thumbnails:
  their centre views hold only 50-100 px of detail).
  It reports its own accuracy on the held-out prints (testA), photos (testB) and degraded test photos;
- **edge corr**: median Pearson correlation of grayscale Sobel magnitudes, photo against output, at 256 px;
- **border bands**: outputs with a light, flat outer band (8 % of the side) on two sides or more, and how many of
  those the photo itself did not have; **checkerboard**: outputs whose spectrum peaks > 30x its neighbourhood at a
  stride-2 artefact period (2, 4, 8 px at 256 px); **same size**: outputs at the input's exact size.
--model takes an export (its `directions` says which signature is photo -> print) or a run directory; --outputs a
folder the `transfer` command wrote for testB (same file names). Results: --out (JSON) and a Markdown table.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from keras_gans.core import quiet  # noqa: E402

quiet.install()
from keras_gans.metrics import translation as T  # noqa: E402

VIEW = 128  # the grader's input size
CB_LIMIT = 30.0  # a spectrum peak this many times its neighbourhood is a visible grid


def load_raw(folder: Path) -> tuple[list[np.ndarray], list[str]]:
    from PIL import Image

    from keras_gans.data.images import find_images

    paths = find_images(folder)
    return [np.asarray(Image.open(p).convert("RGB")) for p in paths], [Path(p).name for p in paths]


def random_view(img: np.ndarray, rng: np.random.Generator, margin: float = 0.1) -> np.ndarray:
    """A random square from the interior (`margin` of each side left out; 70-100 % of its shorter side, as the
    70 % centre view the grades use) at VIEW px, through a random 64-128 px."""
    from PIL import Image

    h, w = img.shape[:2]
    y0, y1, x0, x1 = round(margin * h), h - round(margin * h), round(margin * w), w - round(margin * w)
    s = int(min(y1 - y0, x1 - x0) * rng.uniform(0.7, 1.0))
    top, left = int(rng.integers(y0, y1 - s + 1)), int(rng.integers(x0, x1 - s + 1))
    crop = img[top:top + s, left:left + s]
    if rng.random() < 0.5:
        crop = crop[:, ::-1]
    return resolution_jitter(np.ascontiguousarray(crop), rng, Image)


def resolution_jitter(crop, rng, Image) -> np.ndarray:
    r = int(rng.integers(64, VIEW + 1))
    small = Image.fromarray(crop).resize((r, r), Image.Resampling.BOX if crop.shape[0] > r else Image.Resampling.BILINEAR)
    return np.asarray(small.resize((VIEW, VIEW), Image.Resampling.BILINEAR))


def build_classifier():
    import keras
    from keras import layers

    inp = keras.Input((VIEW, VIEW, 3))
    x = layers.Rescaling(1 / 127.5, offset=-1.0)(inp)
    for i, f in enumerate((24, 32, 64, 96, 128)):  # 128 -> 4 px; a second conv from 32 px on (cheap)
        x = layers.Conv2D(f, 3, strides=2, padding="same", use_bias=False)(x)
        x = layers.BatchNormalization()(x)
        x = layers.ReLU()(x)
        if i >= 2:
            x = layers.Conv2D(f, 3, padding="same", activation="relu")(x)
    x = layers.GlobalAveragePooling2D()(x)
    out = layers.Dense(1, activation="sigmoid")(layers.Dropout(0.3)(x))
    return keras.Model(inp, out)


def print_palettes(prints) -> list:
    """The colour statistics of each print's interior (what `recolour` gives a photo)."""
    return [T.colour_stats(T.central_view(p, 64, 0.8)) for p in prints]


def negative(img, rng, palettes) -> np.ndarray:
    """A photo as a failed translation: degraded (one way, at random), in a print's colours, or both."""
    r = rng.random()
    if r < 0.35 or r >= 0.7:
        img = T.degrade(img, T.DEGRADATIONS[int(rng.integers(len(T.DEGRADATIONS)))], rng)
    if r >= 0.35:
        img = T.recolour(img, palettes[int(rng.integers(len(palettes)))])
    return img


def training_views(prints, photos, rng, per_print=5, per_photo=2, per_negative=3):
    """(x, y): interior views of prints (1) and of photos and photos made into failed translations (0)."""
    x, y = [], []
    for img in prints:
        for _ in range(per_print):
            x.append(random_view(img, rng))
            y.append(1)
    palettes = print_palettes(prints)
    for img in photos:
        for _ in range(per_photo):
            x.append(random_view(img, rng))
            y.append(0)
        for _ in range(per_negative):
            x.append(random_view(negative(img, rng, palettes), rng))
            y.append(0)
    return np.stack(x), np.array(y, np.float32)


def get_classifier(root: Path, path: Path, epochs: int):
    import keras

    meta = path.with_suffix(".json")
    if path.is_file() and meta.is_file():
        return keras.models.load_model(path)
    keras.utils.set_random_seed(0)
    rng = np.random.default_rng(0)
    prints, _ = load_raw(root / "trainA")
    photos, _ = load_raw(root / "trainB")
    x, y = training_views(prints, photos, rng)
    clf = build_classifier()
    clf.compile(keras.optimizers.Adam(1e-3), "binary_crossentropy", metrics=["accuracy"])
    w = {0: len(y) / (2 * (y == 0).sum()), 1: len(y) / (2 * (y == 1).sum())}
    clf.fit(x, y, epochs=epochs, batch_size=32, shuffle=True, class_weight=w, verbose=2)
    path.parent.mkdir(parents=True, exist_ok=True)
    clf.save(path)
    meta.write_text(json.dumps({"epochs": epochs}, indent=1))
    return clf


def grader_views(img: np.ndarray) -> list[np.ndarray]:
    """The squares the grader judges an image by: the centre view (70 % of the shorter side) and four 70 % squares
    shifted towards the corners of the interior (10 % margins left out, as in training), each also mirrored. Their
    mean probability is steadier than one view's (test-time augmentation)."""
    h, w = img.shape[:2]
    s = max(1, round(0.7 * min(h, w)))
    y0, x0, y1, x1 = round(0.1 * h), round(0.1 * w), h - round(0.1 * h) - s, w - round(0.1 * w) - s
    views = [T.central_view(img, VIEW)]
    for top, left in ((y0, x0), (y0, x1), (y1, x0), (y1, x1)):
        top, left = min(max(0, top), h - s), min(max(0, left), w - s)
        views.append(T.central_view(np.ascontiguousarray(img[top:top + s, left:left + s]), VIEW, 1.0))
    return views + [v[:, ::-1] for v in views]


def view_probabilities(clf, images) -> np.ndarray:
    """P(print) of each of grader_views per image, [N, 10]; column 0 is the centre view."""
    views = np.stack([v for im in images for v in grader_views(im)])
    return np.asarray(clf.predict(views, verbose=0, batch_size=100))[:, 0].reshape(len(images), -1)


def verdict(p: np.ndarray, tta: bool = True) -> np.ndarray:
    """Called a print: the mean over the 10 views (tta) or the centre view alone."""
    return (p.mean(axis=1) if tta else p[:, 0]) > 0.5


def called_prints(clf, images, tta: bool = True) -> np.ndarray:
    return verdict(view_probabilities(clf, images), tta)


def held_out(clf, root: Path, tta: bool = True) -> dict:
    """The grader's own accuracy on images it never saw: test prints, test photos, test photos degraded each way."""
    prints, _ = load_raw(root / "testA")
    photos, _ = load_raw(root / "testB")
    out = {"views": "tta" if tta else "centre", "prints_called_prints": float(called_prints(clf, prints, tta).mean()),
           "photos_called_prints": float(called_prints(clf, photos, tta).mean()), "degraded_called_prints": {}}
    rng = np.random.default_rng(12345)
    pal = print_palettes(prints)  # the held-out prints' palettes
    for kind in T.DEGRADATIONS:
        out["degraded_called_prints"][kind] = float(called_prints(clf, [T.degrade(p, kind, rng) for p in photos], tta).mean())
    recol = [T.recolour(p, pal[i % len(pal)]) for i, p in enumerate(photos)]
    out["recoloured_called_prints"] = float(called_prints(clf, recol, tta).mean())
    out["recoloured_degraded_called_prints"] = float(called_prints(clf, [
        T.degrade(p, T.DEGRADATIONS[i % len(T.DEGRADATIONS)], rng) for i, p in enumerate(recol)], tta).mean())
    deg = np.mean(list(out["degraded_called_prints"].values()))
    out["accuracy"] = {"prints": out["prints_called_prints"], "photos": 1 - out["photos_called_prints"],
                       "degraded_photos": float(1 - deg), "photos_in_print_colours": 1 - out["recoloured_called_prints"],
                       "degraded_in_print_colours": 1 - out["recoloured_degraded_called_prints"]}
    return out


def translator(path: str, work_size: int | None):
    """fn(uint8 [1, H, W, 3]) -> uint8 [1, H, W, 3], photo -> print, from an export or a run directory."""
    p = Path(path)
    if (p / "config.yaml").is_file():
        from keras_gans.training.build import load_run

        cfg, model, epoch = load_run(p)
        d = model.direction_meta()  # any translator family: CycleGAN, CUT, FastCUT
        kw = {"work_size": work_size} if work_size else {}
        return (lambda x: model.transfer(x, d["photo2style"], **kw)), f"{p} (epoch {epoch})"
    import tensorflow as tf

    from keras_gans.export.savedmodel import load_export, read_json_signature

    loaded = load_export(p)
    d = read_json_signature(loaded.signatures, "directions")
    sig = loaded.signatures[d["photo2style"]]
    return (lambda x: sig(images=tf.constant(x))["images"].numpy()), str(p)


def grade(clf, photos, outputs, name: str, cpu_s: float | None = None, tta: bool = True) -> dict:
    same = all(o.shape == p.shape for o, p in zip(outputs, photos))
    p = view_probabilities(clf, outputs)  # one pass serves both verdicts
    o256 = np.stack([T.central_view(o, 256, 1.0) for o in outputs])  # whole (square) images at 256 px
    p256 = np.stack([T.central_view(p, 256, 1.0) for p in photos])
    band, _ = T.border_band(o256)
    band_in, _ = T.border_band(p256)
    cb = T.checkerboard(o256)
    ec = T.edge_corr(p256, o256)
    return {"model": name, "n": len(outputs), "same_size": bool(same),
            "called_prints": float(verdict(p, tta).mean()), "called_prints_centre_view": float(verdict(p, False).mean()),
            "edge_corr_median": float(np.median(ec)), "edge_corr_mean": float(np.mean(ec)),
            "border_bands": int(band.sum()), "new_border_bands": int((band & ~band_in).sum()),
            "checkerboard_flagged": int((cb > CB_LIMIT).sum()), "checkerboard_median": float(np.median(cb)),
            **({"transfer_cpu_s_per_image": cpu_s} if cpu_s is not None else {})}


def sheet(path: Path, photos, names, folders, idx, labels):
    """Rows: one test photo each; columns: the photo, then each folder's output, all at 256 px."""
    from PIL import Image, ImageDraw

    cols = [{i: photos[i] for i in idx}] + [{i: np.asarray(Image.open(Path(f) / names[i]).convert("RGB")) for i in idx}
                                           for f in folders]
    s, pad, head = 256, 4, 22
    im = Image.new("RGB", (len(cols) * (s + pad) + pad, len(idx) * (s + pad) + pad + head), "white")
    d = ImageDraw.Draw(im)
    for c, lab in enumerate(labels):
        d.text((pad + c * (s + pad) + 4, 5), lab, fill="black")
    for r, i in enumerate(idx):
        for c, col in enumerate(cols):
            tile = Image.fromarray(T.central_view(col[i], s, 1.0))
            im.paste(tile, (pad + c * (s + pad), head + pad + r * (s + pad)))
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.suffix.lower() in (".jpg", ".jpeg"):
        im.save(path, quality=88)
    else:  # a 256-colour palette: a docs-sized PNG
        im.quantize(256, dither=Image.Dither.NONE).save(path, optimize=True)


def accuracy_line(info: dict) -> str:
    acc = info["accuracy"]
    return (f"grader held-out accuracy ({info['views']} views): prints {acc['prints']:.3f}, photos {acc['photos']:.3f}, "
            f"degraded photos {acc['degraded_photos']:.3f} "
            f"({', '.join(f'{k} {1 - v:.2f}' for k, v in info['degraded_called_prints'].items())}), "
            f"photos in print colours {acc['photos_in_print_colours']:.3f}, degraded and recoloured "
            f"{acc['degraded_in_print_colours']:.3f}")


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", default=str(Path(__file__).resolve().parents[2] / "shared/data/ukiyoe2photo"))
    ap.add_argument("--model", action="append", default=[], help="an export or a run directory (repeatable)")
    ap.add_argument("--outputs", action="append", default=[], help="a folder `transfer` wrote for testB (repeatable)")
    ap.add_argument("--work-size", type=int, help="for runs: the working size G runs at (default: the run's own)")
    ap.add_argument("--epochs", type=int, default=12, help="the grader's training epochs (when it is trained)")
    ap.add_argument("--views", choices=("tta", "centre"), default="tta",
                    help="judge the mean over 10 interior views (default) or the centre view alone")
    ap.add_argument("--classifier", default="benchmarks/results/ukiyoe_grader.keras")
    ap.add_argument("--out", default="benchmarks/results/ukiyoe_quality.json")
    ap.add_argument("--sheet", help="write a before/now sheet (photo | each --outputs folder) here and stop")
    ap.add_argument("--sheet-labels", default="photo,before,now")
    ap.add_argument("--sheet-rows", type=int, default=8)
    a = ap.parse_args()
    root = Path(a.data)
    photos, names = load_raw(root / "testB")
    if a.sheet:
        idx = np.linspace(0, len(photos) - 1, a.sheet_rows).round().astype(int)
        sheet(Path(a.sheet), photos, names, a.outputs, idx, a.sheet_labels.split(","))
        print(f"wrote {a.sheet}")
        return
    t0 = time.process_time()
    clf = get_classifier(root, Path(a.classifier), a.epochs)
    tta = a.views == "tta"
    info = held_out(clf, root, tta)
    p256 = np.stack([T.central_view(p, 256, 1.0) for p in photos])
    report = {"grader": info, "grader_other_views": held_out(clf, root, not tta), "reference": {
        "photos_edge_corr_unrelated_photo": float(np.median(T.edge_corr(p256, np.roll(p256, 1, 0)))),
        "photos_edge_corr_blur32": float(np.median(T.edge_corr(p256, np.stack([T.blur(p, 32) for p in p256])))),
        "photos_border_bands": int(T.border_band(p256)[0].sum()),
        "photos_checkerboard_flagged": int((T.checkerboard(p256) > CB_LIMIT).sum()),
    }, "models": []}
    for m in a.model:
        fn, label = translator(m, a.work_size)
        c0 = time.process_time()
        outs = [fn(p[None])[0] for p in photos]
        report["models"].append(grade(clf, photos, outs, label, (time.process_time() - c0) / len(photos), tta))
    for f in a.outputs:
        from PIL import Image

        outs = [np.asarray(Image.open(Path(f) / n).convert("RGB")) for n in names]
        report["models"].append(grade(clf, photos, outs, f"outputs {f}", tta=tta))
    report["cpu_seconds"] = time.process_time() - t0
    Path(a.out).parent.mkdir(parents=True, exist_ok=True)
    Path(a.out).write_text(json.dumps(report, indent=1))
    for g in (report["grader"], report["grader_other_views"]):
        print(accuracy_line(g))
    print("reference:", json.dumps(report["reference"]))
    print("| model | called prints (centre view alone) | edge corr (median, 256 px) | border bands (new) | checkerboard "
          "| same size |")
    print("|---|---|---|---|---|---|")
    for r in report["models"]:
        print(f"| {r['model']} | {r['called_prints']:.2f} ({r['called_prints_centre_view']:.2f}) "
              f"| {r['edge_corr_median']:.2f} | {r['border_bands']} "
              f"({r['new_border_bands']}) | {r['checkerboard_flagged']} | {r['same_size']} |")


if __name__ == "__main__":
    main()
