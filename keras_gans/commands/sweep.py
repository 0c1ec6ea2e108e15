"""`python cli.py sweep PRESET [PRESET ...] --grid KEY=V1,V2 ...`: train a small grid of configs one after the
other (each through keras_gans.train.train, the one training driver) and compare them side by side.

Writes, under --out DIR:
  DIR/runs/LABEL/            each config's ordinary run directory (config.yaml, history.csv, samples/, checkpoints/)
  DIR/comparison.csv, .md    one row per config: final losses, D outputs, gradient norms, sample_diversity, FID
  DIR/comparison.png         one sample grid per config, all on the same latent seeds, labelled

A config whose run directory already holds a finished run is not trained again (its checkpoint is loaded), so a
sweep can be extended or re-drawn cheaply. FID is filled in when `--features` names a feature extractor
(uint8 image arrays -> float); otherwise the column is left empty.
"""

from __future__ import annotations

import csv
import io
import itertools
import json
import math
import re
import sys
import time
from pathlib import Path

import click

from keras_gans.commands.common import cli_overrides
from keras_gans.errors import UserError

COLUMNS = [
    "config", "preset", "overrides", "status", "epochs", "seconds", "d_loss", "g_loss", "d_real", "d_fake",
    "gp", "d_grad_norm", "g_grad_norm", "sample_diversity", "fid", "run_dir",
]


def split_values(text: str) -> list[str]:
    """Split 'a,b,[1,2],c' at the commas outside brackets/braces/quotes."""
    out, depth, cur, quote = [], 0, "", None
    for ch in text:
        if quote:
            cur += ch
            if ch == quote:
                quote = None
            continue
        if ch in "'\"":
            quote = ch
        elif ch in "[{(":
            depth += 1
        elif ch in "]})":
            depth -= 1
        if ch == "," and depth == 0:
            out.append(cur.strip())
            cur = ""
        else:
            cur += ch
    out.append(cur.strip())
    return [v for v in out if v != ""]


def parse_grid(items) -> list[tuple[str, list]]:
    """--grid 'net.latent_dim=32,100' -> [('net.latent_dim', [32, 100])] (values parsed as YAML)."""
    import yaml

    from keras_gans.config import VALID_KEYS, nearest_key

    grid = []
    for item in items:
        if "=" not in item:
            raise UserError(f"--grid expects KEY=V1,V2,... (e.g. net.latent_dim=32,100), got '{item}'")
        key, values = item.split("=", 1)
        key = key.strip()
        if key not in VALID_KEYS:
            raise UserError(f"--grid: unknown config key '{key}'{nearest_key(key)}")
        vals = split_values(values)
        if not vals:
            raise UserError(f"--grid {key}: no values given (write {key}=V1,V2,...)")
        parsed = []
        for v in vals:
            try:
                parsed.append(yaml.safe_load(v))
            except yaml.YAMLError:
                parsed.append(v)
        grid.append((key, parsed))
    return grid


def _short(key: str) -> str:
    return key.split(".")[-1]


def _fmt_value(v) -> str:
    if isinstance(v, list):
        return "[" + ",".join(_fmt_value(x) for x in v) + "]"
    return str(v)


def expand(presets, grid) -> list[dict]:
    """Every preset x every combination of grid values: [{'preset', 'overrides', 'label'}]."""
    keys = [k for k, _ in grid]
    combos = list(itertools.product(*[vals for _, vals in grid])) if grid else [()]
    out = []
    for preset in presets:
        for combo in combos:
            ov = dict(zip(keys, combo))
            parts = [Path(preset).stem] + [f"{_short(k)}={_fmt_value(v)}" for k, v in ov.items()]
            label = " ".join(parts)
            out.append({"preset": preset, "overrides": ov, "label": label})
    return out


def _dirname(label: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.=-]+", "_", label.replace(" ", "__")).strip("_")[:120]


def _last_row(run_dir: Path) -> dict:
    from keras_gans.callbacks import read_csv

    rows = read_csv(run_dir / "history.csv")
    return rows[-1] if rows else {}


def fid_function(features: str | None):
    """(real_uint8, fake_uint8) -> FID with the evaluation module's feature extractor (a classifier .keras file,
    `inception`, or an Inception .h5); None when no extractor is named."""
    if not features:
        return None
    from keras_gans.metrics.features import get_extractor
    from keras_gans.metrics.fid import fid_from_features

    extractor = get_extractor(features)  # one clear error now if the file is missing, not after training

    def fid(real, fake):
        return fid_from_features(extractor.features(real), extractor.features(fake))

    return fid


def reference_images(cfg: dict, n: int, cache: dict) -> np.ndarray:
    """The real images a config's FID compares with: a fixed random subset (seed 0, as `evaluate` draws) of its
    training images, loaded once per data section. Not the first n: in a folder sorted by class those are nearly
    all one class (measured: FID 143.6 against the first 1,000 images of such a folder, 3.6 against 1,000 drawn
    at random)."""
    from keras_gans.data.source import training_reference_images

    key = json.dumps(cfg["data"], sort_keys=True, default=str)
    if key not in cache:
        cache[key] = training_reference_images(cfg, n, seed=0)
    return cache[key]


def run_sweep(presets, grid, out_dir, common: dict | None = None, n_samples: int = 16, features: str | None = None,
              fid_n: int = 500, export: bool = False) -> list[dict]:
    """Train (or reuse) every config of the sweep and write the comparison files; returns the table rows."""
    import keras
    import numpy as np

    from keras_gans.config import apply_overrides, load_config, validate
    from keras_gans.build import load_run
    from keras_gans.train import train

    out_dir = Path(out_dir)
    configs = expand(presets, grid)
    common = dict(common or {})
    # Resolve every config before training anything: a typo fails in a second, not after the first run.
    for i, c in enumerate(configs):
        cfg = load_config(c["preset"], {**common, **c["overrides"]})
        cfg["name"] = f"{cfg['name']}_sweep{i + 1}"
        if not export:
            cfg["callbacks"]["export_at_end"] = False
            cfg["callbacks"]["export_every"] = 0
        c["cfg"] = validate(cfg)
        c["run_dir"] = out_dir / "runs" / _dirname(c["label"])
    if len(configs) > 1 and any(c["cfg"]["train"]["strategy"] != "default" for c in configs):
        # Measured: a second MirroredStrategy in the same process fails in its collectives (shape mismatch).
        raise UserError("a sweep trains its configs in one process, where only train.strategy=default works for "
                        "more than one config; drop the strategy, or train each config with `train`")
    labels = [c["label"] for c in configs]
    if len(set(labels)) != len(labels):
        raise UserError("the sweep has two identical configs (a preset named twice?); give each preset once")

    fid_fn = fid_function(features)
    references: dict[str, np.ndarray] = {}  # real images per data section (a grid may change data.image_size)
    seeds = np.arange(n_samples, dtype=np.int64)
    rows, panels = [], []
    from keras_gans.io_utils import progbar

    progress = progbar(len(configs), "config")  # plain lines when stdout is a log
    for i, c in enumerate(configs):
        cfg, run_dir = c["cfg"], c["run_dir"]
        print(f"\n[sweep {i + 1}/{len(configs)}] {c['label']} -> {run_dir}", flush=True)
        status, model, t0 = "ok", None, time.time()
        done = (run_dir / "checkpoints" / "checkpoint").is_file()
        try:
            if done:
                _, model, epoch = load_run(run_dir)
                status = f"reused (epoch {epoch})"
            else:
                model, _, _ = train(cfg, run_dir)
        except UserError as e:  # the watchdog stopped it, or bad data: record it and go on
            status = f"stopped: {e}"
            if (run_dir / "checkpoints" / "checkpoint").is_file():
                try:
                    _, model, _ = load_run(run_dir)
                except Exception:  # noqa: BLE001 - the row still records why it stopped
                    model = None
        seconds = round(time.time() - t0, 1)
        timing = run_dir / "sweep.json"
        if done and timing.is_file():  # reused: report the training time measured when it ran
            seconds = json.loads(timing.read_text()).get("seconds", "")
        elif not done and model is not None:
            timing.write_text(json.dumps({"seconds": seconds}))
        images = None
        if model is not None:
            images = model.sample_from_seeds(seeds)
        last = _last_row(run_dir)
        row = {
            "config": c["label"], "preset": c["preset"],
            "overrides": " ".join(f"{k}={_fmt_value(v)}" for k, v in c["overrides"].items()),
            "status": status, "epochs": last.get("epoch", ""), "seconds": _round(seconds),
            "run_dir": str(run_dir),
        }
        for k in COLUMNS:
            if k not in row:
                row[k] = _round(last.get(k, ""))
        row["fid"] = ""
        if fid_fn is not None and model is not None:
            try:
                real = reference_images(cfg, fid_n, references)
                fake, _ = model.evaluation_samples(len(real))
                row["fid"] = f"{float(fid_fn(real, fake)):.4g}"
            except Exception as e:  # noqa: BLE001 - FID is optional here; say why it is missing, once
                print(f"sweep: FID skipped ({type(e).__name__}: {e})", file=sys.stderr)
                fid_fn = None
        rows.append(row)
        panels.append((c["label"], images, status))
        del model
        keras.backend.clear_session()
        write_tables(rows, out_dir)
        progress.update(i + 1)
    draw_comparison(panels, out_dir / "comparison.png")
    print(f"\nwrote {out_dir / 'comparison.csv'}, {out_dir / 'comparison.md'} and {out_dir / 'comparison.png'}")
    return rows


def _round(v):
    try:
        f = float(v)
    except (TypeError, ValueError):
        return v
    return f"{f:.4g}" if math.isfinite(f) else str(f)


def write_tables(rows: list[dict], out_dir: Path):
    from keras_gans.io_utils import atomic_write_text

    out_dir.mkdir(parents=True, exist_ok=True)
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=COLUMNS, lineterminator="\n", extrasaction="ignore")
    w.writeheader()
    w.writerows(rows)
    atomic_write_text(out_dir / "comparison.csv", buf.getvalue())
    md_cols = [k for k in COLUMNS if k not in ("preset", "overrides", "run_dir")]
    lines = ["| " + " | ".join(md_cols) + " |", "|" + "|".join("---" for _ in md_cols) + "|"]
    for r in rows:
        lines.append("| " + " | ".join(str(r.get(k, "")).replace("|", "/") for k in md_cols) + " |")
    atomic_write_text(out_dir / "comparison.md", "\n".join(lines) + "\n")


def draw_comparison(panels, out_path: Path, ncols: int | None = None):
    """One labelled sample grid per config (the same latent seeds in every panel)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from keras_gans.images import make_grid
    from keras_gans.io_utils import save_figure

    n = len(panels)
    ncols = ncols or min(n, 4)
    nrows = math.ceil(n / ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(2.6 * ncols, 2.9 * nrows), squeeze=False)
    for ax in axes.flat:
        ax.axis("off")
    for ax, (label, images, status) in zip(axes.flat, panels):
        if images is not None:
            grid = make_grid(images, pad_value=255)
            if grid.shape[-1] == 1:
                ax.imshow(grid[..., 0], cmap="gray", vmin=0, vmax=255, interpolation="nearest")
            else:
                ax.imshow(grid, interpolation="nearest")
        else:
            ax.text(0.5, 0.5, "no samples", ha="center", va="center")
        title = "\n".join(_wrap(label, 30))
        if not status.startswith(("ok", "reused")):
            title += "\n(stopped)"
        ax.set_title(title, fontsize=8)
    fig.tight_layout()
    return save_figure(fig, out_path, dpi=90, bbox_inches="tight", pad_inches=0.1)


def _wrap(text: str, width: int) -> list[str]:
    lines, cur = [], ""
    for word in text.split(" "):
        if cur and len(cur) + 1 + len(word) > width:
            lines.append(cur)
            cur = word
        else:
            cur = f"{cur} {word}".strip()
    return lines + ([cur] if cur else [])


@click.command()
@click.argument("presets", nargs=-1, required=True)
@click.option("--grid", "grid_items", multiple=True, metavar="KEY=V1,V2",
              help="A config key and its values; several --grid give their Cartesian product.")
@click.option("--epochs", type=click.IntRange(1), help="Epochs per config.")
@click.option("--out", "out_dir", type=click.Path(file_okay=False), required=True, help="Output folder.")
@click.option("--data", type=str, help="Image folder for every config (default: each preset's built-in set).")
@click.option("--batch-size", type=click.IntRange(1))
@click.option("--seed", type=int, help="Training seed for every config.")
@click.option("--set", "set_items", multiple=True, metavar="KEY=VALUE", help="Override a key in every config.")
@click.option("--n-samples", type=click.IntRange(1, 256), default=16, show_default=True,
              help="Images per config in comparison.png (latent seeds 0..N-1 for all).")
@click.option("--features", type=str, help="Feature extractor for the FID column: a classifier file from "
              "`train-classifier`, `inception` or an Inception .h5 (default: no FID).")
@click.option("--fid-n", type=click.IntRange(10), default=500, show_default=True, help="Images per side for FID.")
@click.option("--export", is_flag=True, help="Also write each config's SavedModel export (off by default).")
def sweep(presets, grid_items, epochs, out_dir, data, batch_size, seed, set_items, n_samples, features, fid_n, export):
    """Train PRESETS x the --grid values one after the other and compare them (table + sample figure).

    Example: sweep dcgan --grid net.latent_dim=32,100 --grid net.d_activation=relu,leaky_relu --epochs 5 --out sw
    """
    grid = parse_grid(grid_items)
    common = cli_overrides(set_items, data=data, epochs=epochs, batch_size=batch_size, seed=seed)
    n = len(presets) * math.prod(len(v) for _, v in grid)
    if n > 64:
        raise UserError(f"the sweep has {n} configs; keep it to 64 or fewer (fewer --grid values or presets)")
    run_sweep(presets, grid, out_dir, common, n_samples=n_samples, features=features, fid_n=fid_n, export=export)


COMMANDS = (sweep,)  # registered by keras_gans.cli
