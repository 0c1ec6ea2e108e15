"""Evaluation commands: evaluate (FID/KID/IS/PR/collapse/accuracy -> RUN/eval.json), train-classifier,
interpolate and compare."""

from __future__ import annotations

import json
import time
from pathlib import Path

import click

from keras_gans.cli import main
from keras_gans.errors import UserError


def load_real_images(data: str, image_size: int, channels: int | None, n: int, seed: int):
    """Up to n real images of `data` (a random subset when there are more), at the run's size and channels."""
    import numpy as np

    from keras_gans.data.images import find_images, load_images

    paths = find_images(data)
    if len(paths) > n:
        keep = np.sort(np.random.default_rng(seed).choice(len(paths), n, replace=False))
        paths = [paths[i] for i in keep]
    return load_images(paths, image_size, channels, progress=True).images


@main.command()
@click.argument("run", type=click.Path(exists=True, file_okay=False))
@click.option("--data", required=True, type=str, help="Folder of real images to compare with (e.g. the test set).")
@click.option("--metrics", "metrics_text", help="Comma list of fid,kid,is,pr,collapse,accuracy (default: all that apply).")
@click.option("--n", type=click.IntRange(2), default=5000, show_default=True, help="Generated images (and at most this many real ones).")
@click.option("--features", default="inception", show_default=True,
              help="inception (Keras cache weights), an InceptionV3 .h5 file, or a classifier .keras from train-classifier.")
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of the generated samples and real subset.")
@click.option("--batch-size", type=click.IntRange(1), default=256, show_default=True, help="Generator batch size.")
def evaluate(run, data, metrics_text, n, features, seed, batch_size):
    """Score RUN's generator against real images; print a table and write RUN/eval.json."""
    from keras_gans.io_utils import atomic_write_text
    from keras_gans.metrics.features import get_extractor
    from keras_gans.metrics.report import NEEDS_REAL, compute_metrics, flat_metrics, format_table, parse_metrics
    from keras_gans.train import load_run

    metrics, explicit = parse_metrics(metrics_text)
    want_recon = "recon" in metrics
    metrics = [m for m in metrics if m != "recon"]
    extractor = get_extractor(features) if metrics else None
    cfg, model, epoch = load_run(run)
    has_encoder = hasattr(model, "reconstruct")
    if want_recon and explicit and not has_encoder:
        raise UserError(f"cannot compute 'recon': it needs a model with an encoder (model: vae), not '{cfg['model']}'")
    want_recon = want_recon and has_encoder
    size, channels = int(model.image_shape[0]), int(model.image_shape[-1])
    real = None
    if NEEDS_REAL & set(metrics) or "collapse" in metrics or want_recon:
        real = load_real_images(data, size, channels, n, seed)
    click.echo(f"generating {n} images from {run} (epoch {epoch}, seed {seed})")
    t0 = time.time()
    fake, labels = model.evaluation_samples(n, seed=seed, batch_size=batch_size)
    res, notes = ({}, []) if not metrics else compute_metrics(
        extractor, real, fake, labels, metrics, explicit=explicit, seed=seed, progress=True)
    if want_recon:  # held-out reconstruction error of the VAE on the --data images ([-1, 1] units)
        from keras_gans.metrics.reconstruction import reconstruction_mse

        res["recon_mse"] = float(reconstruction_mse(model, real))
    result = {
        "run": str(Path(run).resolve()), "epoch": int(epoch), "model": cfg["model"], "name": cfg["name"],
        "data": str(Path(data).resolve()), "n_generated": int(len(fake)), "n_real": int(len(real)) if real is not None else 0,
        "seed": int(seed), "image_shape": list(map(int, fake.shape[1:])),
        "features": extractor.describe() if extractor else None,
        "conditional": bool(labels), "metrics": res, "notes": notes, "seconds": round(time.time() - t0, 1),
        "time": time.strftime("%Y-%m-%dT%H:%M:%S"),
    }
    out = Path(run) / "eval.json"
    atomic_write_text(out, json.dumps(result, indent=1))
    rows = [("run", f"{run} (epoch {epoch})"),
            ("features", f"{extractor.name} ({extractor.dim}-d)" if extractor else "none"),
            ("samples", f"{len(fake)} generated, {result['n_real']} real, seed {seed}")]
    rows += list(flat_metrics(res).items())
    click.echo(format_table(rows))
    if "collapse" in res:
        click.echo(f"class histogram (generated): {res['collapse']['histogram']}")
    for note in notes:
        click.echo(f"note: {note}")
    click.echo(f"wrote {out}")


@main.command("train-classifier")
@click.option("--data", required=True, type=click.Path(exists=True, file_okay=False),
              help="Folder with one sub-folder of images per class.")
@click.option("--out", required=True, type=click.Path(dir_okay=False), help="Output FILE.keras (FILE.json beside it).")
@click.option("--image-size", type=click.IntRange(8), default=32, show_default=True)
@click.option("--channels", type=click.Choice(["1", "3"]), help="Default: inferred from the images.")
@click.option("--epochs", type=click.IntRange(1), default=10, show_default=True)
@click.option("--batch-size", type=click.IntRange(1), default=128, show_default=True)
@click.option("--test-fraction", type=click.FloatRange(0.01, 0.9), default=0.15, show_default=True,
              help="Share of every class held out to measure accuracy.")
@click.option("--max-per-class", type=click.IntRange(1), help="Use at most this many images per class.")
@click.option("--seed", type=int, default=0, show_default=True)
def train_classifier(data, out, image_size, channels, epochs, batch_size, test_fraction, max_per_class, seed):
    """Train the small domain classifier CNN used by `evaluate --features FILE.keras`."""
    import sys

    from keras_gans.metrics.classifier import train_classifier as run

    meta = run(data, out, image_size=image_size, channels=int(channels) if channels else None, epochs=epochs,
               batch_size=batch_size, test_fraction=test_fraction, seed=seed, max_per_class=max_per_class,
               verbose=1 if sys.stdout.isatty() else 2)
    click.echo(f"held-out test accuracy {meta['test_accuracy']:.4f} on {meta['n_test']} images "
               f"({len(meta['classes'])} classes, trained on {meta['n_train']}, {epochs} epochs)")
    click.echo(f"wrote {out} and {Path(out).with_suffix('.json')}")


def interpolate_latents(z0, z1, steps: int, method: str):
    """[pairs, steps, d] points from z0 to z1 (both [pairs, d]); slerp falls back to linear for parallel pairs."""
    import numpy as np

    t = np.linspace(0.0, 1.0, steps)[None, :, None]
    a, b = np.asarray(z0, np.float64)[:, None, :], np.asarray(z1, np.float64)[:, None, :]
    if method == "linear":
        return ((1 - t) * a + t * b).astype(np.float32)
    na = a / np.linalg.norm(a, axis=-1, keepdims=True)
    nb = b / np.linalg.norm(b, axis=-1, keepdims=True)
    omega = np.arccos(np.clip((na * nb).sum(-1, keepdims=True), -1.0, 1.0))
    so = np.sin(omega)
    safe = np.where(so < 1e-6, 1.0, so)
    out = np.where(so < 1e-6, (1 - t) * a + t * b, np.sin((1 - t) * omega) / safe * a + np.sin(t * omega) / safe * b)
    return out.astype(np.float32)


@main.command()
@click.argument("run", type=click.Path(exists=True, file_okay=False))
@click.option("--steps", type=click.IntRange(2, 64), default=10, show_default=True)
@click.option("--pairs", type=click.IntRange(1, 64), default=4, show_default=True)
@click.option("--method", type=click.Choice(["linear", "slerp"]), default="slerp", show_default=True)
@click.option("--out", type=click.Path(dir_okay=False), default="interpolation.png", show_default=True)
@click.option("--seed", type=int, default=0, show_default=True,
              help="Pair i runs from the latent of `sample --seed SEED` image 2i to that of image 2i+1.")
def interpolate(run, steps, pairs, method, out, seed):
    """Walk the latent space between pairs of points: one row per pair, STEPS images per row."""
    import numpy as np

    from keras_gans.images import save_grid, to_uint8
    from keras_gans.models.base import seeds_to_latent
    from keras_gans.train import load_run

    cfg, model, epoch = load_run(run)
    seeds = np.arange(2 * pairs, dtype=np.int64) + int(seed) * 100000
    z = seeds_to_latent(seeds, int(cfg["net"]["latent_dim"])).numpy()
    zs = interpolate_latents(z[0::2], z[1::2], steps, method).reshape(pairs * steps, -1)
    inputs = model.interpolation_inputs(zs, steps) if hasattr(model, "interpolation_inputs") else zs
    try:
        images = to_uint8(model.generate(inputs, training=False))
    except (ValueError, TypeError) as e:
        raise UserError(f"interpolate needs a generator fed by a latent vector alone; the '{cfg['model']}' family "
                        f"needs more inputs ({str(e).splitlines()[0][:120]})") from None
    save_grid(out, images, nrow=steps)
    click.echo(f"wrote {pairs} {method} interpolations of {steps} steps (epoch {epoch}) to {out}")


@main.command()
@click.argument("runs", nargs=-1, required=True, type=click.Path(exists=True, file_okay=False))
@click.option("--out", required=True, type=click.Path(file_okay=False), help="Folder for compare.png, metrics.md, metrics.csv.")
@click.option("--n", type=click.IntRange(1, 256), default=16, show_default=True, help="Samples per run.")
@click.option("--seed", type=int, default=0, show_default=True, help="The same latent seeds for every run.")
def compare(runs, out, n, seed):
    """Side by side: each run's samples on the same seeds (one figure) and a table of their eval.json metrics."""
    import csv
    import io

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    from keras_gans.images import make_grid
    from keras_gans.io_utils import atomic_write_bytes, atomic_write_text
    from keras_gans.metrics.report import flat_metrics
    from keras_gans.train import load_run

    out = Path(out)
    seeds = np.arange(n, dtype=np.int64) + int(seed) * 100000
    grids, rows = [], []
    for r in runs:
        cfg, model, epoch = load_run(r)
        grids.append((f"{Path(r).name}\n{cfg['name']} ({cfg['model']}, {cfg['loss']['type']}), epoch {epoch}",
                      make_grid(model.sample_from_seeds(seeds))))
        row = {"run": Path(r).name, "model": cfg["name"], "epoch": epoch}
        ev = Path(r) / "eval.json"
        if ev.is_file():
            e = json.loads(ev.read_text())
            row.update({"features": e["features"]["name"], "n": e["n_generated"], **flat_metrics(e["metrics"])})
        rows.append(row)
    cols = len(grids)
    fig, axes = plt.subplots(1, cols, figsize=(3.2 * cols, 3.6), squeeze=False)
    for ax, (title, g) in zip(axes[0], grids):
        ax.imshow(g[..., 0] if g.shape[-1] == 1 else g, cmap="gray" if g.shape[-1] == 1 else None, vmin=0, vmax=255)
        ax.set_title(title, fontsize=8)
        ax.axis("off")
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110)
    plt.close(fig)
    atomic_write_bytes(out / "compare.png", buf.getvalue())
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
