"""Evaluation commands: evaluate (FID/KID/IS/PR/collapse/accuracy, the multi-label score of label sets ->
RUN/eval.json), train-classifier (single- or multi-label), interpolate and compare."""

from __future__ import annotations

import json
import time
from pathlib import Path

import click

from keras_gans.core.errors import UserError
from keras_gans.core.seeds import latent_seeds
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
@click.option("--n", type=click.IntRange(2), default=5000, show_default=True,
              help="Generated images, and real ones per half: up to 2N real images are read, N to compare with and "
                   "N for the real-vs-real floor.")
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
@click.option("--bootstrap", type=click.IntRange(0, 1000), default=50, show_default=True,
              help="Bootstrap resamplings for FID's 95% interval (0 = none).")
@click.option("--no-floor", is_flag=True, help="Skip the real-vs-real floor (reads N real images instead of 2N).")
@click.option("--truncation", type=click.FloatRange(0.0, 1.0), default=1.0, show_default=True,
              help="Score samples drawn with `sample --truncation PSI` (1 = none).")
@click.option("--best", is_flag=True, help="Score the run's best checkpoint (RUN/best, kept with eval.every).")
@click.option("--allow-weak-features", is_flag=True,
              help="Score with a feature classifier whose held-out accuracy is below the floor (halfway from "
                   "chance to 1).")
def evaluate(run, data, metrics_text, n, features, seed, batch_size, label_sets, repeats, grid_out, bootstrap,
             no_floor, truncation, best, allow_weak_features):
    """Score RUN's generator against real images (and/or label sets); print a table and write RUN/eval.json."""
    from keras_gans.core.io_utils import atomic_write_text
    from keras_gans.metrics.features import check_feature_classifier, get_extractor
    from keras_gans.metrics.report import NEEDS_REAL, compute_metrics, format_metric_lines, format_table, metric_lines

    from keras_gans.training.build import load_run

    metrics, explicit, want_recon = _chosen_metrics(data, label_sets, features, metrics_text)
    extractor = get_extractor(features) if metrics or label_sets else None
    clf_line = check_feature_classifier(extractor, allow_weak_features) if extractor is not None else None
    cfg, model, epoch = load_run(run, best=best)
    has_encoder = has(model, ENCODER)
    if want_recon and explicit and not has_encoder:
        from keras_gans.models.capabilities import WHAT

        raise UserError(f"cannot compute 'recon': it needs a model with {WHAT[ENCODER]}, not '{cfg['model']}'")
    want_recon = want_recon and has_encoder
    if truncation != 1.0:
        from keras_gans.models.latent import apply_truncation

        apply_truncation(require(model, LATENT, "evaluate --truncation"), truncation)
    real = floor_real = None
    n_pool = 0
    if NEEDS_REAL & set(metrics) or "collapse" in metrics or want_recon:
        with_floor = not no_floor and bool(NEEDS_REAL & set(metrics))
        real, floor_real, n_pool = _real_halves(data, model.image_shape, n, seed, with_floor)
    t0 = time.time()
    fake, labels = None, None
    res, notes = {}, []
    if metrics or want_recon:
        click.echo(f"generating {n} images from {run} (epoch {epoch}{', best' if best else ''}, seed {seed}"
                   f"{f', truncation {truncation:g}' if truncation != 1.0 else ''})")
        fake, labels = require(model, LATENT, "evaluate").evaluation_samples(n, seed=seed, batch_size=batch_size)
    if metrics:
        res, notes = compute_metrics(extractor, real, fake, labels, metrics, explicit=explicit, seed=seed,
                                     progress=True, floor_real=floor_real, fid_replicates=bootstrap)
    if label_sets:
        res["label_sets"], grid_path = _label_set_score(model, extractor, label_sets, seed, repeats,
                                                         Path(grid_out) if grid_out else Path(run) / "label_sets.png")
    if want_recon:  # held-out reconstruction error of the VAE on the --data images ([-1, 1] units)
        from keras_gans.metrics.reconstruction import reconstruction_mse

        res["recon_mse"] = float(reconstruction_mse(model, real))
    floor = res.get("floor")
    if floor and floor["n"] < (len(real) if real is not None else 0):
        notes.append(f"the floor is measured at n={floor['n']} (only {n_pool} real images, not 2 x {n}): FID's "
                     "floor at the model's n would be lower")
    n_gen, n_real = int(len(fake)) if fake is not None else 0, int(len(real)) if real is not None else 0
    desc = extractor.describe() if extractor else None
    result = _eval_record(run, cfg, model, epoch, best, data, desc, n_gen, n_real, floor, seed, truncation, labels,
                          res, notes, t0)
    out = Path(run) / ("eval_best.json" if best else "eval.json")
    atomic_write_text(out, json.dumps(result, indent=1))
    rows = [("run", f"{run} (epoch {epoch}{', best checkpoint' if best else ''})"),
            ("features", (f"{extractor.name} ({extractor.dim}-d, {desc.get('resize') or 'no resize'}, sha256 "
                          f"{(desc.get('sha256') or 'n/a')[:12]})") if extractor else "none"),
            ("samples", f"{n_gen} generated, {n_real} real, seed {seed}"
                        + (f", floor: two disjoint real halves of {floor['n']}" if floor else ""))]
    if clf_line:
        rows.append(("classifier", clf_line.split(": ", 1)[1]))
    if label_sets:
        ls = res["label_sets"]
        rows.append(("label sets", f"{ls['n_sets']} from {label_sets} x {ls['repeats']} seed(s): {ls['hits']} of "
                                   f"{ls['asked']} asked labels in the classifier's top-k"))
    click.echo(format_table(rows))
    click.echo(format_metric_lines(metric_lines(res, n_gen, n_real)))
    if "collapse" in res:
        click.echo(f"class histogram (generated): {res['collapse']['histogram']}")
    for note in notes:
        click.echo(f"note: {note}")
    if label_sets:
        click.echo(f"wrote {grid_path}")
    click.echo(f"wrote {out}")


def _chosen_metrics(data, label_sets, features: str, metrics_text: str) -> tuple[list[str], bool, bool]:
    """(the metrics to compute but recon, whether the user named them, whether recon is wanted); the inputs'
    checks come first, so no model or extractor is loaded for nothing."""
    from keras_gans.metrics.report import parse_metrics

    if data and not Path(data).exists():
        raise UserError(f"--data {data}: no such folder or file (the real images to compare with)")
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
    return [m for m in metrics if m != "recon"], explicit, "recon" in metrics


def _real_halves(data: str, image_shape, n: int, seed: int, with_floor: bool):
    """(real images to compare with, the other real half for the real-vs-real floor or None, images read)."""
    import numpy as np

    pool = load_real_images(data, int(image_shape[0]), int(image_shape[-1]), 2 * n if with_floor else n, seed)
    if not (with_floor and len(pool) >= 4):
        return pool, None, len(pool)
    from keras_gans.metrics.uncertainty import split_halves

    a, b, m = split_halves(len(pool), n, seed)
    # 2N real images: the model is compared with half A (N), the floor is A vs B (N each). Fewer: the model
    # with all of them (as without a floor), A first; the floor A vs B at m = half of them (noted).
    rest = np.setdiff1d(np.arange(len(pool)), np.concatenate([a, b]))
    real = pool[a] if m == n else pool[np.concatenate([a, b, rest])]
    return real, pool[b], len(pool)


def _eval_record(run, cfg, model, epoch, best, data, desc, n_gen, n_real, floor, seed, truncation, labels, res,
                 notes, t0) -> dict:
    """RUN/eval.json's content: the scores and the conditions they were measured under (what `compare` checks)."""
    conditions = {
        "n_generated": n_gen, "n_real": n_real, "n_floor": int(floor["n"]) if floor else 0, "seed": int(seed),
        "data": str(Path(data).resolve()) if data else None, "features": desc["name"] if desc else None,
        "features_sha256": desc.get("sha256") if desc else None, "resize": desc.get("resize") if desc else None,
        "image_shape": list(map(int, model.image_shape)), "truncation": float(truncation),
    }
    return {
        "run": str(Path(run).resolve()), "epoch": int(epoch), "best": bool(best), "model": cfg["model"],
        "name": cfg["name"], "data": conditions["data"], "n_generated": n_gen, "n_real": n_real,
        "seed": int(seed), "image_shape": conditions["image_shape"], "features": desc, "conditions": conditions,
        "conditional": bool(labels), "metrics": res, "notes": notes, "seconds": round(time.time() - t0, 1),
        "time": time.strftime("%Y-%m-%dT%H:%M:%S"),
    }


def _label_set_score(model, extractor, path, seed: int, repeats: int, grid_path: Path):
    """The i-CLEVR evaluator on RUN: one image per label set (x repeats), top-k score, the sets' grid (8 per row)."""
    from keras_gans.core.images import save_png
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

    from keras_gans.core.images import save_grid, to_uint8
    from keras_gans.models.latent import seeds_to_latent
    from keras_gans.training.build import load_run

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
        seeds = latent_seeds(seed, 2 * pairs)
    z = seeds_to_latent(seeds, int(cfg["net"]["latent_dim"]), z_std).numpy()
    from keras_gans.models.latent import interpolate_latents

    zs = interpolate_latents(z[0::2], z[1::2], steps, method).reshape(pairs * steps, -1)
    metas = require(model, LATENT, "interpolate").condition_meta if has(model, CONDITIONAL) else []
    wants = label is not None or labels is not None or cond_items
    if wants and not metas:
        raise UserError(f"{run} is an unconditional model; drop the label options")
    if wants:
        import tensorflow as tf

        from keras_gans.parts.conditioning import cli_requests, request_arrays

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
@click.option("--allow-mismatch", is_flag=True,
              help="Tabulate eval.json metrics measured under different conditions (n, data, features, resize, "
                   "truncation) instead of refusing; the conditions column says how each was measured.")
@click.option("--cell", type=click.IntRange(0, 1024), default=64, show_default=True, metavar="PX",
              help="Enlarge images smaller than PX (nearest neighbour, whole factors) so a grid reads at its natural "
                   "size; 0 keeps the raw size.")
def compare(runs, out, n, seed, allow_mismatch, cell):
    """Side by side: each run's samples on the same seeds (one figure), a table of their eval.json metrics, and
    (runs that differ only in train.seed) mean ± std over seeds (summary.md/.csv, spread.png)."""
    from keras_gans.metrics.spread import mismatch

    out = Path(out)
    # Everything that can refuse is read before anything is drawn or written.
    evals, named, groups_of = _read_evals(runs)
    diff = mismatch(named)
    if diff and not allow_mismatch:
        raise UserError(f"the runs' metrics were measured under different conditions ({diff}); evaluate them alike "
                        "(the same --data, --n, --features, --truncation) or pass --allow-mismatch")
    grids, rows = _compare_rows(runs, evals, latent_seeds(seed, n), cell, diff)
    _compare_figure(grids, out / "compare.png")
    fields = list(dict.fromkeys(k for row in rows for k in row))
    md = _write_table(out, "metrics", rows, fields)
    click.echo("\n".join(md))
    wrote = [out / "compare.png", out / "metrics.md", out / "metrics.csv"]
    wrote += _seed_summary(runs, rows, groups_of, fields, out)
    if diff:
        click.echo(f"note: metrics measured under different conditions ({diff}); ranked anyway (--allow-mismatch)")
    missing = [row["run"] for row in rows if "fid" not in row and "accuracy" not in row and "is" not in row
               and "kid" not in row]
    if missing:
        click.echo(f"note: no eval.json metrics for {', '.join(missing)} (run `python cli.py evaluate RUN --data ...` first)")
    click.echo("wrote " + ", ".join(map(str, wrote)))


def _read_evals(runs):
    """({run: its eval.json}, [(name, measured conditions)], {run: (config key but name and train.seed, label,
    train.seed)})."""
    from keras_gans.config.loader import load_run_config
    from keras_gans.metrics.spread import conditions_of

    evals, named, groups_of = {}, [], {}
    for r in runs:
        ev = Path(r) / "eval.json"
        if ev.is_file():
            try:
                evals[r] = json.loads(ev.read_text())
            except ValueError:
                raise UserError(f"{ev} is not valid JSON; run `python cli.py evaluate {r} --data ...` again") from None
            named.append((Path(r).name, conditions_of(evals[r])))
        cfg = load_run_config(Path(r))
        key_cfg = json.loads(json.dumps(cfg, default=str))
        key_cfg.pop("name", None)
        key_cfg.get("train", {}).pop("seed", None)
        groups_of[r] = (json.dumps(key_cfg, sort_keys=True), f"{cfg['name']} ({cfg['model']})", cfg["train"]["seed"])
    return evals, named, groups_of


def _compare_rows(runs, evals: dict, seeds, cell: int, diff):
    """([(title, each run's grid on the same seeds)], [each run's table row: its eval.json metrics])."""
    from keras_gans.training.build import load_run
    from keras_gans.core.images import make_grid
    from keras_gans.metrics.report import flat_metrics
    from keras_gans.metrics.spread import conditions_of

    grids, rows = [], []
    for r in runs:
        cfg, model, epoch = load_run(r)
        grids.append((f"{Path(r).name}\n{cfg['name']} ({cfg['model']}, {cfg['loss']['type']}), epoch {epoch}",
                      make_grid(model.sample_from_seeds(seeds), min_cell=cell)))
        row = {"run": Path(r).name, "model": cfg["name"], "epoch": epoch, "train_seed": cfg["train"]["seed"]}
        if r in evals:
            e = evals[r]
            c = conditions_of(e)
            feats = c["features"] + (f" ({c['features_sha256'][:12]})" if c.get("features_sha256") else "")
            row.update({"features": feats, "n": e["n_generated"], "n_real": c["n_real"],
                        "eval_seed": c["seed"], **flat_metrics(e["metrics"])})
            if diff:
                row["conditions"] = " ".join(f"{k}={v}" for k, v in c.items() if k not in ("data", "features_sha256"))
        rows.append(row)
    return grids, rows


def _compare_figure(grids, path: Path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from keras_gans.core.io_utils import save_figure

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
    save_figure(fig, path, dpi=dpi)


def _fmt(v):
    return f"{v:.4g}" if isinstance(v, float) else ("" if v is None else str(v))


def _write_table(out: Path, name: str, table, columns) -> list[str]:
    """OUT/NAME.md and OUT/NAME.csv of `table` (rows of dicts) in `columns`; returns the markdown lines."""
    import csv
    import io

    from keras_gans.core.io_utils import atomic_write_text

    md = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    md += ["| " + " | ".join(_fmt(row.get(k)).replace("|", "/") for k in columns) + " |" for row in table]
    atomic_write_text(out / f"{name}.md", "\n".join(md) + "\n")
    s = io.StringIO()
    w = csv.DictWriter(s, fieldnames=columns, lineterminator="\n", extrasaction="ignore")
    w.writeheader()
    for row in table:
        w.writerow({k: _fmt(row.get(k)) for k in columns})
    atomic_write_text(out / f"{name}.csv", s.getvalue())
    return md


def _seed_summary(runs, rows, groups_of: dict, fields, out: Path) -> list[Path]:
    """Runs that differ only in train.seed: mean ± std over seeds (summary.md/.csv, spread.png); the files written."""
    from keras_gans.core.io_utils import atomic_write_text
    from keras_gans.metrics.spread import draw_spread, summarize

    groups: dict = {}
    for r, row in zip(runs, rows):
        key, label, _ = groups_of[r]
        groups.setdefault(key, (label, []))[1].append({**row, "seed": row["train_seed"]})
    if not any(len(members) > 1 for _, members in groups.values()):
        return []
    numeric = [k for k in fields if k not in ("run", "model", "epoch", "train_seed", "features", "n", "n_real",
                                              "eval_seed", "conditions", "modes_covered")
               and not k.endswith("_std")]  # a std over subsets is not a result to average over seeds
    labelled = {}
    for label, members in groups.values():
        while label in labelled:
            label += "'"
        labelled[label] = members
    summary = summarize(labelled, numeric)
    columns = ["config", "runs", "seeds"] + [k for k in numeric if any(k in s for s in summary)]
    click.echo("mean ± std over training seeds (sample std):")
    md_lines = _write_table(out, "summary", summary, columns)
    click.echo("\n".join(md_lines))
    _write_table(out, "summary", summary, columns + [f"{k}_{x}" for k in columns[3:] for x in ("mean", "std")])
    atomic_write_text(out / "summary.md", "\n".join(md_lines) + "\n")  # the markdown without the raw columns
    wrote = [out / "summary.md", out / "summary.csv"]
    main = [k for k in ("fid", "kid", "precision", "recall", "accuracy", "label_score") if k in columns]
    if draw_spread(summary, main, out / "spread.png", "spread over training seeds") is not None:
        wrote.append(out / "spread.png")
    return wrote


@click.command("truncation-curve")
@click.argument("run", type=click.Path(exists=True, file_okay=False))
@click.option("--data", required=True, type=str, help="Folder (or MNIST IDX file) of real images to compare with.")
@click.option("--features", default="inception", show_default=True,
              help="inception, an InceptionV3 .h5 file, or a classifier .keras from train-classifier.")
@click.option("--psi", "psi_text", default="0.1,0.25,0.5,0.75,1.0", show_default=True,
              help="Comma list of truncation values in [0, 1] (1 = no truncation).")
@click.option("--n", type=click.IntRange(10), default=1000, show_default=True, help="Generated and real images per point.")
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--out", type=click.Path(file_okay=False), default="truncation", show_default=True,
              help="Folder for curve.png and curve.csv.")
@click.option("--best", is_flag=True, help="Use the run's best checkpoint (RUN/best).")
@click.option("--allow-weak-features", is_flag=True, help="Accept a feature classifier below the accuracy floor.")
def truncation_curve(run, data, features, psi_text, n, seed, out, best, allow_weak_features):
    """Quality against diversity as truncation tightens: precision, recall, coverage and KID of `sample
    --truncation PSI` for each PSI, one table (curve.csv) and one figure (curve.png)."""
    import csv
    import io

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from keras_gans.training.callbacks import sample_diversity
    from keras_gans.core.io_utils import atomic_write_text, save_figure
    from keras_gans.metrics.features import check_feature_classifier, get_extractor
    from keras_gans.metrics.kid import kid
    from keras_gans.metrics.scores import prdc
    from keras_gans.models.latent import apply_truncation
    from keras_gans.training.build import load_run

    if not Path(data).exists():
        raise UserError(f"--data {data}: no such folder or file (the real images to compare with)")
    try:
        psis = sorted({float(v) for v in psi_text.split(",") if v.strip()})
    except ValueError:
        raise UserError(f"--psi expects numbers in [0, 1] separated by commas, got {psi_text!r}") from None
    if not psis or not all(0.0 <= p <= 1.0 for p in psis):
        raise UserError(f"--psi values must be in [0, 1] (1 = no truncation), got {psi_text!r}")
    extractor = get_extractor(features)
    clf_line = check_feature_classifier(extractor, allow_weak_features)
    cfg, model, epoch = load_run(run, best=best)
    require(model, LATENT, "truncation-curve")
    real = load_real_images(data, int(model.image_shape[0]), int(model.image_shape[-1]), n, seed)
    f_real = extractor.features(real)
    sigma = float(model.z_std)
    rows = []
    for psi in psis:
        model.z_std = sigma
        apply_truncation(model, psi)
        fake, _ = model.evaluation_samples(n, seed=seed)
        f_fake = extractor.features(fake)
        pr = prdc(f_real, f_fake, k=5)
        kmean, kstd = kid(f_real, f_fake, subsets=20, subset_size=1000, seed=seed)
        rows.append({"psi": psi, "precision": pr["precision"], "recall": pr["recall"], "density": pr["density"],
                     "coverage": pr["coverage"], "kid": kmean, "kid_std": kstd,
                     "diversity": sample_diversity(fake[:256])})
        click.echo(f"psi {psi:g}: precision {pr['precision']:.3f}  recall {pr['recall']:.3f}  coverage "
                   f"{pr['coverage']:.3f}  kid {kmean:.4g} ± {kstd:.2g}  pixel diversity {rows[-1]['diversity']:.3f}")
    out = Path(out)
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=list(rows[0]), lineterminator="\n")
    w.writeheader()
    w.writerows({k: f"{v:.6g}" for k, v in r.items()} for r in rows)
    atomic_write_text(out / "curve.csv", buf.getvalue())
    fig, (a1, a2) = plt.subplots(1, 2, figsize=(9, 3.6))
    x = [r["psi"] for r in rows]
    for key, style in (("precision", "o-"), ("recall", "s-"), ("coverage", "^--")):
        a1.plot(x, [r[key] for r in rows], style, label=key)
    a1.set_xlabel("truncation psi (1 = none)")
    a1.set_ylim(-0.02, 1.02)
    a1.set_title("fidelity (precision) vs diversity (recall, coverage); higher is better", fontsize=8)
    a1.legend(fontsize=8)
    a1.grid(alpha=0.3)
    a2.errorbar(x, [r["kid"] for r in rows], yerr=[r["kid_std"] for r in rows], fmt="o-", capsize=3)
    a2.set_xlabel("truncation psi (1 = none)")
    a2.set_title("KID ± std over subsets; lower is better", fontsize=8)
    a2.grid(alpha=0.3)
    fig.suptitle(f"{Path(run).name} epoch {epoch}{' (best)' if best else ''}: {n} images per point, "
                 f"{extractor.name} features", fontsize=9)
    fig.tight_layout()
    save_figure(fig, out / "curve.png", dpi=100)
    if clf_line:
        click.echo(clf_line)
    click.echo(f"wrote {out / 'curve.png'} and {out / 'curve.csv'}")


COMMANDS = (evaluate, train_classifier, interpolate, compare, truncation_curve)  # registered by keras_gans.cli
