"""`python cli.py sweep PRESET [PRESET ...] --grid KEY=V1,V2 ...`: train a small grid of configs one after the
other (each through keras_gans.training.driver.train, the one training driver) and compare them side by side.

Writes, under --out DIR:
  DIR/runs/LABEL/            each config's ordinary run directory (config.yaml, history.csv, samples/, checkpoints/)
  DIR/comparison.csv, .md    one row per config: final losses, D outputs, gradient norms, sample_diversity, FID
  DIR/comparison.png         one sample grid per config, all on the same latent seeds, labelled

A config whose run directory already holds a finished run is not trained again (its checkpoint is loaded), so a
sweep can be extended or re-drawn cheaply. FID and KID are filled in when `--features` names a feature extractor
(FID left empty, with a note, where --fid-n is not above the feature dimension); DIR/sweep.json records the
conditions (images per side, the extractor and its file hash, resize rule, reference seed).

With `--seeds N` every config is trained N times (train.seed = SEED, SEED+1, ...; runs/LABEL/seedS/), and
  DIR/summary.csv, .md    one row per config: mean ± std over the seeds of the losses, diversity, FID and KID
  DIR/spread.png          every seed's value and the mean ± std per config
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
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # annotations only: numpy is imported where the work is done
    import numpy as np

import click

from keras_gans.commands.common import cli_overrides
from keras_gans.core.errors import UserError

COLUMNS = [
    "config", "seed", "preset", "overrides", "status", "epochs", "seconds", "d_loss", "g_loss", "d_real", "d_fake",
    "gp", "d_grad_norm", "g_grad_norm", "sample_diversity", "fid", "kid", "fid_n", "run_dir",
]
SUMMARY_METRICS = ["d_loss", "g_loss", "sample_diversity", "fid", "kid"]  # mean ± std over seeds


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

    from keras_gans.config.loader import VALID_KEYS, nearest_key

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
    from keras_gans.training.callbacks import read_csv

    rows = read_csv(run_dir / "history.csv")
    return rows[-1] if rows else {}


def fid_function(features: str | None, info: dict | None = None):
    """(real_uint8, fake_uint8) -> FID with the evaluation module's feature extractor (a classifier .keras file,
    `inception`, or an Inception .h5); None when no extractor is named. The function's `kid` attribute gives KID
    on the features of the last call; None where FID is not defined (n <= feature dimension). `info` (a dict)
    receives the extractor's description (name, file hash, resize rule)."""
    if not features:
        return None
    from keras_gans.metrics.features import get_extractor
    from keras_gans.metrics.fid import fid_from_features
    from keras_gans.metrics.kid import kid
    from keras_gans.metrics.uncertainty import fid_defined

    extractor = get_extractor(features)  # one clear error now if the file is missing, not after training
    if info is not None:
        info.update(extractor.describe())

    def fid(real, fake):
        fr, ff = extractor.features(real), extractor.features(fake)
        fid.kid = kid(fr, ff, subsets=20, subset_size=1000)[0]
        return fid_from_features(fr, ff) if fid_defined(len(fr), len(ff), ff.shape[1]) else None

    fid.kid = None
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
              fid_n: int = 500, export: bool = False, seeds: int = 1) -> list[dict]:
    """Train (or reuse) every config of the sweep (seeds times each, on train.seed, +1, ...) and write the
    comparison files; returns the table rows (one per run)."""
    import keras

    from keras_gans.core.io_utils import progbar
    from keras_gans.core.seeds import latent_seeds

    out_dir = Path(out_dir)
    seeds = max(1, int(seeds))
    configs = resolve_configs(presets, grid, out_dir, common, export, seeds)
    fid = _SweepFID(features, fid_n, out_dir, seeds)
    sample_seeds = latent_seeds(0, n_samples)  # `sample --seed 0`'s images
    rows, panels = [], []
    progress = progbar(len(configs), "config")  # plain lines when stdout is a log
    for i, c in enumerate(configs):
        cfg, run_dir = c["cfg"], c["run_dir"]
        print(f"\n[sweep {i + 1}/{len(configs)}] {c['label']} (seed {cfg['train']['seed']}) -> {run_dir}", flush=True)
        model, status, seconds = _train_or_reuse(cfg, run_dir)
        images = model.sample_from_seeds(sample_seeds) if model is not None else None
        last = _last_row(run_dir)
        row = {
            "config": c["label"], "seed": cfg["train"]["seed"], "preset": c["preset"],
            "overrides": " ".join(f"{k}={_fmt_value(v)}" for k, v in c["overrides"].items()),
            "status": status, "epochs": last.get("epoch", ""), "seconds": _round(seconds),
            "run_dir": str(run_dir),
        }
        for k in COLUMNS:
            if k not in row:
                row[k] = _round(last.get(k, ""))
        row.update(fid.cells(cfg, model))
        rows.append(row)
        panels.append((c["label"] + (f" seed {cfg['train']['seed']}" if seeds > 1 else ""), images, status))
        del model
        keras.backend.clear_session()
        write_tables(rows, out_dir)
        progress.update(i + 1)
    draw_comparison(panels, out_dir / "comparison.png")
    wrote = [out_dir / "comparison.csv", out_dir / "comparison.md", out_dir / "comparison.png"]
    if seeds > 1:
        wrote += write_summary(rows, out_dir)
    print("\nwrote " + ", ".join(map(str, wrote)))
    return rows


def resolve_configs(presets, grid, out_dir: Path, common: dict | None, export: bool, seeds: int) -> list[dict]:
    """Every config of the sweep, resolved and validated before anything trains (a typo fails in a second, not
    after the first run): each with its label, preset, overrides, `cfg` and `run_dir`."""
    from keras_gans.config.loader import load_config, validate

    configs = expand(presets, grid)
    common = dict(common or {})
    if seeds > 1:  # one entry per (config, seed); the label stays the config's, the run folder gets the seed
        configs = [{**c, "seed_index": k} for c in configs for k in range(seeds)]
    for i, c in enumerate(configs):
        cfg = load_config(c["preset"], {**common, **c["overrides"]})
        cfg["name"] = f"{cfg['name']}_sweep{i // seeds + 1}"
        if seeds > 1:
            cfg["train"]["seed"] = int(cfg["train"]["seed"]) + c["seed_index"]
        if not export:
            cfg["callbacks"]["export_at_end"] = False
            cfg["callbacks"]["export_every"] = 0
        c["cfg"] = validate(cfg)
        c["run_dir"] = out_dir / "runs" / _dirname(c["label"])
        if seeds > 1:
            c["run_dir"] = c["run_dir"] / f"seed{c['cfg']['train']['seed']}"
    if len(configs) > 1 and any(c["cfg"]["train"]["strategy"] != "default" for c in configs):
        # Measured: a second MirroredStrategy in the same process fails in its collectives (shape mismatch).
        raise UserError("a sweep trains its configs in one process, where only train.strategy=default works for "
                        "more than one config; drop the strategy, or train each config with `train`")
    labels = [(c["label"], c.get("seed_index")) for c in configs]
    if len(set(labels)) != len(labels):
        raise UserError("the sweep has two identical configs (a preset named twice?); give each preset once")
    return configs


def _train_or_reuse(cfg: dict, run_dir: Path):
    """(the trained model or None, the row's status, training seconds): a run with a checkpoint is reused; one the
    watchdog stopped (or bad data) is recorded and the sweep goes on."""
    from keras_gans.training.build import load_run
    from keras_gans.training.driver import train

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
    return model, status, seconds


class _SweepFID:
    """The sweep's FID/KID columns (--features): the extractor once, SWEEP/sweep.json with the conditions, the real
    images once per data section; an FID that cannot be computed is said once and left empty."""

    def __init__(self, features, fid_n: int, out_dir: Path, seeds: int):
        self.info: dict = {}
        self.fn = fid_function(features, self.info)
        self.references: dict[str, np.ndarray] = {}  # real images per data section (a grid may change image_size)
        self.undefined_said = False
        if self.fn is not None:
            from keras_gans.core.io_utils import atomic_write_text

            out_dir.mkdir(parents=True, exist_ok=True)
            atomic_write_text(out_dir / "sweep.json", json.dumps({
                "seeds": seeds, "conditions": {"n_generated": fid_n, "n_real": fid_n, "reference": "training images, "
                                               "random subset by seed 0", "features": self.info.get("name"),
                                               "features_sha256": self.info.get("sha256"),
                                               "resize": self.info.get("resize"), "generated_seed": 0},
                "features": self.info}, indent=1, default=str))
        self.fid_n = fid_n

    def cells(self, cfg: dict, model) -> dict:
        row = {"fid": "", "kid": "", "fid_n": ""}
        if self.fn is None or model is None:
            return row
        try:
            real = reference_images(cfg, self.fid_n, self.references)
            fake, _ = model.evaluation_samples(len(real))
            value = self.fn(real, fake)
            row["fid_n"] = len(real)
            row["fid"] = "" if value is None else f"{float(value):.4g}"
            row["kid"] = f"{float(self.fn.kid):.4g}"
            if value is None and not self.undefined_said:
                print(f"sweep: FID left empty: {len(real)} images per side are not more than the "
                      f"{self.info.get('dim')} feature dimensions (FID is not defined there); read KID, or "
                      "raise --fid-n", file=sys.stderr)
                self.undefined_said = True
        except Exception as e:  # noqa: BLE001 - FID is optional here; say why it is missing, once
            print(f"sweep: FID skipped ({type(e).__name__}: {e})", file=sys.stderr)
            self.fn = None
        return row


def write_summary(rows: list[dict], out_dir: Path) -> list[Path]:
    """summary.csv/.md (mean ± std over seeds per config) and spread.png; returns the paths written."""
    from keras_gans.core.io_utils import atomic_write_text
    from keras_gans.metrics.spread import draw_spread, summarize

    groups: dict[str, list[dict]] = {}
    for r in rows:
        if str(r.get("status", "")).startswith(("ok", "reused")):
            groups.setdefault(r["config"], []).append(r)
    summary = summarize(groups, SUMMARY_METRICS)
    cols = ["config", "runs", "seeds"] + [k for k in SUMMARY_METRICS if any(k in s for s in summary)]
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=cols + [f"{k}_{x}" for k in cols[3:] for x in ("mean", "std")],
                       lineterminator="\n", extrasaction="ignore")
    w.writeheader()
    for srow in summary:
        w.writerow({k: (f"{v:.6g}" if isinstance(v, float) else v) for k, v in srow.items()})
    atomic_write_text(out_dir / "summary.csv", buf.getvalue())
    lines = ["| " + " | ".join(cols) + " |", "|" + "|".join("---" for _ in cols) + "|"]
    lines += ["| " + " | ".join(str(srow.get(k, "")) for k in cols) + " |" for srow in summary]
    atomic_write_text(out_dir / "summary.md", "\n".join(lines) + "\n")
    print("\nmean ± std over seeds (sample std):\n" + "\n".join(lines))
    out = [out_dir / "summary.csv", out_dir / "summary.md"]
    shown = [k for k in ("fid", "kid", "sample_diversity", "d_loss") if k in cols][:3]
    if draw_spread(summary, shown, out_dir / "spread.png", "spread over training seeds") is not None:
        out.append(out_dir / "spread.png")
    return out


def _round(v):
    try:
        f = float(v)
    except (TypeError, ValueError):
        return v
    return f"{f:.4g}" if math.isfinite(f) else str(f)


def write_tables(rows: list[dict], out_dir: Path):
    from keras_gans.core.io_utils import atomic_write_text

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

    from keras_gans.core.images import make_grid
    from keras_gans.core.io_utils import save_figure

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
@click.option("--seeds", type=click.IntRange(1, 20), default=1, show_default=True,
              help="Train every config this many times (train.seed = --seed, +1, ...) and report mean ± std.")
def sweep(presets, grid_items, epochs, out_dir, data, batch_size, seed, set_items, n_samples, features, fid_n, export,
          seeds):
    """Train PRESETS x the --grid values one after the other and compare them (table + sample figure).

    Example: sweep dcgan --grid net.latent_dim=32,100 --grid net.d_activation=relu,leaky_relu --epochs 5 --out sw
    """
    grid = parse_grid(grid_items)
    common = cli_overrides(set_items, data=data, epochs=epochs, batch_size=batch_size, seed=seed)
    n = len(presets) * math.prod(len(v) for _, v in grid) * seeds
    if n > 64:
        raise UserError(f"the sweep has {n} runs (configs x seeds); keep it to 64 or fewer (fewer --grid values, "
                        "presets or --seeds)")
    run_sweep(presets, grid, out_dir, common, n_samples=n_samples, features=features, fid_n=fid_n, export=export,
              seeds=seeds)


COMMANDS = (sweep,)  # registered by keras_gans.cli
