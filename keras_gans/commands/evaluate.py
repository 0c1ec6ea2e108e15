"""Evaluation commands: evaluate (FID/KID/IS/PR/collapse/accuracy, the multi-label score of label sets ->
RUN/eval.json), train-classifier (single- or multi-label), interpolate and compare."""

from __future__ import annotations

import json
import time
from pathlib import Path

import click

from keras_gans.errors import UserError
from keras_gans.models.capabilities import CONDITIONAL, ENCODER, LATENT, has, require


def load_real_images(data: str, image_size: int, channels: int | None, n: int, seed: int):
    """Up to n real images of `data` (a random subset when there are more), at the run's size and channels."""
    from keras_gans.data.source import reference_images

    return reference_images(data, image_size, channels, n, seed)


@click.command()
@click.argument("run", type=click.Path(exists=True, file_okay=False))
@click.option("--data", type=str, help="Folder (or MNIST IDX file) of real images to compare with (e.g. the test set); "
              "needed by every metric but the --label-sets score.")
@click.option("--metrics", "metrics_text", help="Comma list of fid,kid,is,pr,collapse,accuracy (default: all that apply).")
@click.option("--n", type=click.IntRange(2), default=5000, show_default=True, help="Generated images (and at most this many real ones).")
@click.option("--features", default="inception", show_default=True,
              help="inception (Keras cache weights), an InceptionV3 .h5 file, or a classifier .keras from train-classifier.")
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of the generated samples and real subset.")
@click.option("--batch-size", type=click.IntRange(1), default=256, show_default=True, help="Generator batch size.")
@click.option("--label-sets", "label_sets", type=click.Path(exists=True, dir_okay=False),
              help="Conditional runs: a JSON list of label lists (i-CLEVR test.json) or a tags/attribute file; one "
                   "image per set, scored by the multi-label classifier of --features (top-k accuracy).")
@click.option("--repeats", type=click.IntRange(1, 100), default=1, show_default=True,
              help="With --label-sets: images per set on different seeds (the score is over all of them).")
@click.option("--grid", "grid_out", type=click.Path(dir_okay=False),
              help="With --label-sets: where to write the grid of the sets' images (default RUN/label_sets.png).")
def evaluate(run, data, metrics_text, n, features, seed, batch_size, label_sets, repeats, grid_out):
    """Score RUN's generator against real images (and/or label sets); print a table and write RUN/eval.json."""
    from keras_gans.io_utils import atomic_write_text
    from keras_gans.metrics.features import get_extractor
    from keras_gans.metrics.report import NEEDS_REAL, compute_metrics, flat_metrics, format_table, parse_metrics
    from keras_gans.build import load_run

    if not data and not label_sets:
        raise UserError("evaluate needs --data (real images) or --label-sets (a conditional run's label-set score)")
    if label_sets and not features.endswith(".keras"):
        raise UserError("--label-sets is scored by a multi-label classifier: pass --features CLASSIFIER.keras "
                        "(from `python cli.py train-classifier --multilabel`)")
    metrics, explicit = parse_metrics(metrics_text)
    if not data:
        if explicit:
            raise UserError(f"--metrics {metrics_text} needs --data (the real images to compare with)")
        metrics = []
    elif label_sets and not explicit:  # the classifier's sigmoid scores are not class probabilities for IS/collapse
        metrics = ["fid", "kid", "pr"]
    want_recon = "recon" in metrics
    metrics = [m for m in metrics if m != "recon"]
    extractor = get_extractor(features) if metrics or label_sets else None
    cfg, model, epoch = load_run(run)
    has_encoder = has(model, ENCODER)
    if want_recon and explicit and not has_encoder:
        raise UserError(f"cannot compute 'recon': it needs a model with an encoder (model: vae), not '{cfg['model']}'")
    want_recon = want_recon and has_encoder
    size, channels = int(model.image_shape[0]), int(model.image_shape[-1])
    real = None
    if NEEDS_REAL & set(metrics) or "collapse" in metrics or want_recon:
        real = load_real_images(data, size, channels, n, seed)
    t0 = time.time()
    fake, labels = None, None
    res, notes = {}, []
    if metrics or want_recon:
        click.echo(f"generating {n} images from {run} (epoch {epoch}, seed {seed})")
        fake, labels = require(model, LATENT, "evaluate").evaluation_samples(n, seed=seed, batch_size=batch_size)
    if metrics:
        res, notes = compute_metrics(extractor, real, fake, labels, metrics, explicit=explicit, seed=seed, progress=True)
    if label_sets:
        res["label_sets"], grid_path = _label_set_score(model, extractor, label_sets, seed, repeats,
                                                         Path(grid_out) if grid_out else Path(run) / "label_sets.png")
    if want_recon:  # held-out reconstruction error of the VAE on the --data images ([-1, 1] units)
        from keras_gans.metrics.reconstruction import reconstruction_mse

        res["recon_mse"] = float(reconstruction_mse(model, real))
    result = {
        "run": str(Path(run).resolve()), "epoch": int(epoch), "model": cfg["model"], "name": cfg["name"],
        "data": str(Path(data).resolve()) if data else None, "n_generated": int(len(fake)) if fake is not None else 0,
        "n_real": int(len(real)) if real is not None else 0,
        "seed": int(seed), "image_shape": list(map(int, model.image_shape)),
        "features": extractor.describe() if extractor else None,
        "conditional": bool(labels), "metrics": res, "notes": notes, "seconds": round(time.time() - t0, 1),
        "time": time.strftime("%Y-%m-%dT%H:%M:%S"),
    }
    out = Path(run) / "eval.json"
    atomic_write_text(out, json.dumps(result, indent=1))
    rows = [("run", f"{run} (epoch {epoch})"),
            ("features", f"{extractor.name} ({extractor.dim}-d)" if extractor else "none"),
            ("samples", f"{result['n_generated']} generated, {result['n_real']} real, seed {seed}")]
    if label_sets:
        ls = res["label_sets"]
        rows.append(("label sets", f"{ls['n_sets']} from {label_sets} x {ls['repeats']} seed(s): {ls['hits']} of "
                                   f"{ls['asked']} asked labels in the classifier's top-k"))
    rows += list(flat_metrics(res).items())
    click.echo(format_table(rows))
    if "collapse" in res:
        click.echo(f"class histogram (generated): {res['collapse']['histogram']}")
    for note in notes:
        click.echo(f"note: {note}")
    if label_sets:
        click.echo(f"wrote {grid_path}")
    click.echo(f"wrote {out}")


def _label_set_score(model, extractor, path, seed: int, repeats: int, grid_path: Path):
    """The i-CLEVR evaluator on RUN: one image per label set (x repeats), top-k score, the sets' grid (8 per row)."""
    from keras_gans.images import save_png
    from keras_gans.metrics.multilabel import LabelSetEvaluator, label_set_grid, read_label_sets

    metas = require(model, CONDITIONAL, "evaluate --label-sets").condition_meta
    sets = read_label_sets(path, [m["name"] for m in metas if m["type"] == "softmax"])
    res, images = LabelSetEvaluator(extractor, sets, seed=seed, repeats=repeats).evaluate(model)
    res["file"] = str(Path(path).resolve())
    res["sets"] = sets
    save_png(grid_path, label_set_grid(images))
    res["grid"] = str(grid_path)
    return res, grid_path


@click.command("train-classifier")
@click.option("--data", required=True, type=click.Path(exists=True),
              help="Folder with one sub-folder of images per class (or an MNIST IDX images file); with --multilabel "
                   "an image folder with its labels file (i-CLEVR train.json + objects.json, tags.csv, attributes).")
@click.option("--out", required=True, type=click.Path(dir_okay=False), help="Output FILE.keras (FILE.json beside it).")
@click.option("--image-size", type=click.IntRange(8), default=32, show_default=True)
@click.option("--channels", type=click.Choice(["1", "3"]), help="Default: inferred from the images.")
@click.option("--epochs", type=click.IntRange(1), default=10, show_default=True)
@click.option("--batch-size", type=click.IntRange(1), default=128, show_default=True)
@click.option("--test-fraction", type=click.FloatRange(0.01, 0.9), default=0.15, show_default=True,
              help="Share of every class held out to measure accuracy.")
@click.option("--max-per-class", type=click.IntRange(1), help="Use at most this many images per class.")
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--multilabel", is_flag=True, help="K sigmoid outputs trained on label sets (the i-CLEVR evaluator).")
@click.option("--labels", "labels_file", type=click.Path(exists=True, dir_okay=False),
              help="With --multilabel: the labels file (default: train.json/tags.csv/... found in --data).")
@click.option("--categories", help="With --multilabel and a tags CSV: its category words, e.g. hair,eyes.")
@click.option("--ignore-tags", help="With a tags CSV: tags to drop from every row, e.g. polychromatic,long,short.")
@click.option("--max-images", type=click.IntRange(1), help="With --multilabel: use at most this many images.")
def train_classifier(data, out, image_size, channels, epochs, batch_size, test_fraction, max_per_class, seed,
                     multilabel, labels_file, categories, ignore_tags, max_images):
    """Train the small domain classifier CNN used by `evaluate --features FILE.keras`."""
    import sys

    from keras_gans.metrics.classifier import train_classifier as run

    if not multilabel and (labels_file or categories or max_images or ignore_tags):
        raise UserError("--labels, --categories, --ignore-tags and --max-images go with --multilabel")
    split = lambda text: [t.strip() for t in text.split(",") if t.strip()] if text else []  # noqa: E731
    meta = run(data, out, image_size=image_size, channels=int(channels) if channels else None, epochs=epochs,
               batch_size=batch_size, test_fraction=test_fraction, seed=seed, max_per_class=max_per_class,
               verbose=1 if sys.stdout.isatty() else 2, multilabel=multilabel, labels=labels_file,
               categories=split(categories), ignore_tags=split(ignore_tags), max_images=max_images)
    what = "top-k accuracy" if multilabel else "accuracy"
    click.echo(f"held-out test {what} {meta['test_accuracy']:.4f} on {meta['n_test']} images "
               f"({len(meta['classes'])} {'labels' if multilabel else 'classes'}, trained on {meta['n_train']}, "
               f"{epochs} epochs)")
    click.echo(f"wrote {out} and {Path(out).with_suffix('.json')}")


@click.command()
@click.argument("run", type=click.Path(exists=True, file_okay=False))
@click.option("--steps", type=click.IntRange(2, 64), default=10, show_default=True)
@click.option("--pairs", type=click.IntRange(1, 64), help="Rows, each between two latent points [default: 4].")
@click.option("--method", type=click.Choice(["linear", "slerp"]), default="slerp", show_default=True)
@click.option("--out", type=click.Path(dir_okay=False), default="interpolation.png", show_default=True)
@click.option("--seed", type=int, default=0, show_default=True,
              help="Pair i runs from the latent of `sample --seed SEED` image 2i to that of image 2i+1.")
@click.option("--from", "from_seed", type=int, metavar="SEED",
              help="Walk from this latent seed (image i of `sample --seed S` has seed S*100000+i) ...")
@click.option("--to", "to_seed", type=int, metavar="SEED", help="... to this one (one row).")
@click.option("--label", help="Conditional models: hold this class fixed along every row.")
@click.option("--labels", help='Conditional models: hold this label set fixed, e.g. "red cube,blue sphere".')
@click.option("--cond", "cond_items", multiple=True, metavar="NAME=VALUE", help="Hold any condition fixed, e.g. hair=red.")
@click.option("--z-std", "z_std", type=float, metavar="SIGMA",
              help="Endpoints z ~ N(0, SIGMA^2), as `sample --z-std` (default: the run's net.z_std).")
@click.option("--cell", type=click.IntRange(0, 1024), default=64, show_default=True, metavar="PX",
              help="Enlarge images smaller than PX (nearest neighbour, whole factors) so a grid reads at its natural "
                   "size; 0 keeps the raw size.")
def interpolate(run, steps, pairs, method, out, seed, from_seed, to_seed, label, labels, cond_items, z_std, cell):
    """Walk the latent space between pairs of points: one row per pair, STEPS images per row (conditions fixed).
    The endpoints are the latents `sample` draws for the same seeds and sigma, so a row starts and ends on them."""
    import numpy as np

    from keras_gans.images import save_grid, to_uint8
    from keras_gans.models.base import seeds_to_latent
    from keras_gans.build import load_run

    if (from_seed is None) != (to_seed is None):
        raise UserError("--from and --to go together (two latent seeds, e.g. --from 300005 --to 300012)")
    if from_seed is not None and pairs:
        raise UserError("--pairs and --from/--to do not mix: --from/--to draw one row")
    if z_std is not None and not z_std > 0:
        raise UserError(f"--z-std must be > 0 (a standard deviation), got {z_std}")
    cfg, model, epoch = load_run(run)
    # the run's sigma (net.z_std): a model trained on N(0, 2^2) noise walks between the points it was trained on
    z_std = float(z_std) if z_std is not None else float(getattr(model, "z_std", cfg["net"].get("z_std", 1.0)) or 1.0)
    if from_seed is not None:
        seeds, pairs = np.array([from_seed, to_seed], np.int64), 1
    else:
        pairs = pairs or 4
        seeds = np.arange(2 * pairs, dtype=np.int64) + int(seed) * 100000
    z = seeds_to_latent(seeds, int(cfg["net"]["latent_dim"]), z_std).numpy()
    from keras_gans.models.latent import interpolate_latents

    zs = interpolate_latents(z[0::2], z[1::2], steps, method).reshape(pairs * steps, -1)
    metas = require(model, LATENT, "interpolate").condition_meta if has(model, CONDITIONAL) else []
    wants = label is not None or labels is not None or cond_items
    if wants and not metas:
        raise UserError(f"{run} is an unconditional model; drop the label options")
    if wants:
        import tensorflow as tf

        from keras_gans.conditioning import cli_requests, request_arrays

        arrays = request_arrays(metas, len(zs), cli_requests(metas, label=label, labels=labels, cond_items=cond_items))
        inputs = {"z": tf.convert_to_tensor(zs, tf.float32), **{k: tf.convert_to_tensor(v) for k, v in arrays.items()}}
    else:
        inputs = model.interpolation_inputs(zs, steps) if has(model, CONDITIONAL) else zs
    try:
        images = to_uint8(model.generate(inputs, training=False))
    except (ValueError, TypeError) as e:
        raise UserError(f"interpolate needs a generator fed by a latent vector alone; the '{cfg['model']}' family "
                        f"needs more inputs ({str(e).splitlines()[0][:120]})") from None
    save_grid(out, images, nrow=steps, min_cell=cell)
    what = f"from seed {from_seed} to seed {to_seed}" if from_seed is not None else f"{pairs} {method} interpolations"
    click.echo(f"wrote {what} in {steps} steps (epoch {epoch}) to {out}")


@click.command()
@click.argument("runs", nargs=-1, required=True, type=click.Path(exists=True, file_okay=False))
@click.option("--out", required=True, type=click.Path(file_okay=False), help="Folder for compare.png, metrics.md, metrics.csv.")
@click.option("--n", type=click.IntRange(1, 256), default=16, show_default=True, help="Samples per run.")
@click.option("--seed", type=int, default=0, show_default=True, help="The same latent seeds for every run.")
@click.option("--cell", type=click.IntRange(0, 1024), default=64, show_default=True, metavar="PX",
              help="Enlarge images smaller than PX (nearest neighbour, whole factors) so a grid reads at its natural "
                   "size; 0 keeps the raw size.")
def compare(runs, out, n, seed, cell):
    """Side by side: each run's samples on the same seeds (one figure) and a table of their eval.json metrics."""
    import csv
    import io

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    from keras_gans.images import make_grid
    from keras_gans.io_utils import atomic_write_text, save_figure
    from keras_gans.metrics.report import flat_metrics
    from keras_gans.build import load_run

    out = Path(out)
    seeds = np.arange(n, dtype=np.int64) + int(seed) * 100000
    grids, rows = [], []
    for r in runs:
        cfg, model, epoch = load_run(r)
        grids.append((f"{Path(r).name}\n{cfg['name']} ({cfg['model']}, {cfg['loss']['type']}), epoch {epoch}",
                      make_grid(model.sample_from_seeds(seeds), min_cell=cell)))
        row = {"run": Path(r).name, "model": cfg["name"], "epoch": epoch}
        ev = Path(r) / "eval.json"
        if ev.is_file():
            e = json.loads(ev.read_text())
            row.update({"features": e["features"]["name"], "n": e["n_generated"], **flat_metrics(e["metrics"])})
        rows.append(row)
    cols, dpi = len(grids), 110
    # each panel at least as wide as its grid's pixels (drawn nearest neighbour): the figure shows every pixel
    side = max(3.2, max(max(g.shape[:2]) for _, g in grids) / dpi * 1.1)
    fig, axes = plt.subplots(1, cols, figsize=(side * cols, side + 0.4), squeeze=False)
    for ax, (title, g) in zip(axes[0], grids):
        ax.imshow(g[..., 0] if g.shape[-1] == 1 else g, cmap="gray" if g.shape[-1] == 1 else None, vmin=0, vmax=255,
                  interpolation="nearest")
        ax.set_title(title, fontsize=8)
        ax.axis("off")
    fig.tight_layout()
    save_figure(fig, out / "compare.png", dpi=dpi)
    fields = list(dict.fromkeys(k for row in rows for k in row))

    def fmt(v):
        return f"{v:.4g}" if isinstance(v, float) else ("" if v is None else str(v))

    md = ["| " + " | ".join(fields) + " |", "|" + "---|" * len(fields)]
    md += ["| " + " | ".join(fmt(row.get(k)) for k in fields) + " |" for row in rows]
    atomic_write_text(out / "metrics.md", "\n".join(md) + "\n")
    s = io.StringIO()
    w = csv.DictWriter(s, fieldnames=fields, lineterminator="\n")
    w.writeheader()
    for row in rows:
        w.writerow({k: fmt(row.get(k)) for k in fields})
    atomic_write_text(out / "metrics.csv", s.getvalue())
    click.echo("\n".join(md))
    missing = [row["run"] for row in rows if "fid" not in row and "accuracy" not in row and "is" not in row]
    if missing:
        click.echo(f"note: no eval.json metrics for {', '.join(missing)} (run `python cli.py evaluate RUN --data ...` first)")
    click.echo(f"wrote {out / 'compare.png'}, {out / 'metrics.md'}, {out / 'metrics.csv'}")


COMMANDS = (evaluate, train_classifier, interpolate, compare)  # registered by keras_gans.cli
