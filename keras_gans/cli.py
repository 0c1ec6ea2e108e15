"""The command line: `python cli.py COMMAND ...` (or the `keras-gans` console script).

Exit status: 0 on success, 2 on a usage error or bad input (one line on stderr saying what and how to fix it),
1 on an unexpected failure (with the traceback, for a bug report). TensorFlow is imported only inside commands,
so `--help` and input errors answer at once.
"""

from __future__ import annotations

import sys
import warnings
from pathlib import Path

import click

from keras_gans.core import quiet  # (standard library only: before anything imports TensorFlow)

quiet.install()  # TensorFlow's start-up log lines stay off stderr unless --verbose / KERAS_GANS_VERBOSE=1
warnings.filterwarnings("ignore", message=".*`shuffle=True` was passed.*")

from keras_gans.commands.common import cli_overrides, is_export  # noqa: E402
from keras_gans.core.errors import UserError  # noqa: E402


class CLIGroup(click.Group):
    """Turns UserError into one line + exit 2, anything unexpected into exit 1."""

    def invoke(self, ctx):
        previous = warnings.showwarning
        warnings.showwarning = _one_line_warning
        try:
            return super().invoke(ctx)
        except UserError as e:
            click.echo(f"error: {e}", err=True)
            sys.exit(2)
        except KeyboardInterrupt:
            click.echo("\ninterrupted; the last complete checkpoint is kept (continue with --resume)", err=True)
            sys.exit(130)
        except Exception as e:  # a full disk or a read-only folder is the user's to fix: one line, exit 2
            from keras_gans.core.io_utils import disk_error, disk_error_message

            info = disk_error(e)
            if info is None:
                raise
            click.echo(f"error: {disk_error_message(info)}", err=True)
            sys.exit(2)
        finally:
            warnings.showwarning = previous


class HintedCommand(click.Command):
    """A command whose unknown options get the hint a user needs (`train --out` -> --run-dir), not click's nearest
    spelling (which answered `train --out` with --set). OPTION_HINTS lists the options users reach for."""

    OPTION_HINTS = {"train": {"--out": "--run-dir", "--output": "--run-dir", "--output-dir": "--run-dir",
                              "--outdir": "--run-dir", "--dir": "--run-dir", "--run": "--run-dir",
                              "--lr": "--set train.g_lr=... --set train.d_lr=...", "--steps": "--set train.steps_per_epoch=N",
                              "--image-size": "--set data.image_size=N", "--size": "--set data.image_size=N"}}

    def parse_args(self, ctx, args):
        try:
            return super().parse_args(ctx, args)
        except click.NoSuchOption as e:
            hint = self.OPTION_HINTS.get(self.name, {}).get(e.option_name)
            if hint:
                e.possibilities = [hint]
            raise


def _one_line_warning(message, category, filename, lineno, file=None, line=None):
    """Python warnings as one line each ('warning: ...'), readable in a log; no source line, no file:lineno."""
    text = " ".join(str(message).split())
    print(f"warning: {text}", file=file or sys.stderr, flush=True)


@click.group(cls=CLIGroup, context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 110})
@click.option("--verbose", is_flag=True, help=f"Show TensorFlow's own log lines on stderr (also: {quiet.ENV}=1).")
def main(verbose):
    """keras_gans: train, sample, evaluate and export the classic GAN family."""
    quiet.set_verbose(verbose)


@main.command(cls=HintedCommand)
@click.argument("model")
@click.option("--config", "config_file", type=click.Path(dir_okay=False), help="YAML file of keys laid over the preset.")
@click.option("--data", type=str, help="Image folder (default: the preset's built-in data set).")
@click.option("--epochs", type=click.IntRange(1), help="Total epochs (with --resume: train up to this many).")
@click.option("--batch-size", type=click.IntRange(1), help="Global batch size (split across replicas).")
@click.option("--run-dir", type=click.Path(file_okay=False), help="Run directory (default runs/NAME-TIMESTAMP).")
@click.option("--set", "set_items", multiple=True, metavar="KEY=VALUE", help="Override any config key, e.g. train.g_lr=1e-4.")
@click.option("--resume", is_flag=True, help="Continue the run in --run-dir from its last checkpoint.")
@click.option("--seed", type=int, help="Seed for data order, noise and initialisation.")
@click.option("--strategy", type=click.Choice(["default", "mirrored", "multiworker"]), help="tf.distribute strategy.")
@click.option("--deterministic", is_flag=True, help="Enable TensorFlow op determinism (slower).")
def train(model, config_file, data, epochs, batch_size, run_dir, set_items, resume, seed, strategy, deterministic):
    """Train MODEL (a preset in configs/, e.g. dcgan, wgan_gp, or a YAML path)."""
    from keras_gans.config.loader import load_config

    overrides = cli_overrides(set_items, data=data, epochs=epochs, batch_size=batch_size, seed=seed, strategy=strategy)
    if deterministic:
        overrides["train.deterministic"] = True
    if resume and not run_dir:
        raise UserError("--resume needs --run-dir (the run to continue)")
    from keras_gans.config.resume import preset_origin, resume_config
    from keras_gans.training.driver import train as run_training

    # --resume is repeatable: it continues a run that has a checkpoint and starts one that has none yet.
    if resume and (Path(run_dir) / "checkpoints" / "checkpoint").is_file():
        cfg = resume_config(run_dir, model, overrides, config_file)
    else:
        cfg = load_config(model, overrides, config_file)  # preset, then --config, then --set: validated once
    _, run_path, _ = run_training(cfg, run_dir, resume=resume, origin=preset_origin(model))
    click.echo(f"done: samples in {run_path / 'samples'}, curves in {run_path / 'curves.png'}")


@main.command()
@click.argument("source", type=click.Path(exists=True, file_okay=False))
@click.option("--n", type=click.IntRange(1, 4096), default=64, show_default=True,
              help="Number of images (with --vary: images per row).")
@click.option("--out", type=click.Path(dir_okay=False), default="samples.png", show_default=True,
              help="The grid's file; its extension chooses the format: .png, .jpg/.jpeg or .webp.")
@click.option("--seed", type=int, default=0, show_default=True, help="Image i uses latent seed SEED*100000+i (evaluate --seed draws the same).")
@click.option("--nrow", type=int, help="Images per row (default: square grid).")
@click.option("--label", help="Conditional models: the class, by name or index (e.g. --label 7).")
@click.option("--labels", help='Conditional models: a label set, e.g. --labels "red cube,blue sphere".')
@click.option("--hair", help="Conditional models with a hair condition, e.g. --hair blonde.")
@click.option("--eyes", help="Conditional models with an eyes condition, e.g. --eyes blue.")
@click.option("--cond", "cond_items", multiple=True, metavar="NAME=VALUE", help="Any condition by name, e.g. hair=red.")
@click.option("--vary", metavar="NAME", help="Conditional models: one row per class of condition NAME, N per row.")
@click.option("--z-std", "z_std", type=float, metavar="SIGMA",
              help="Draw z ~ N(0, SIGMA^2) (default: the run's net.z_std, 1.0 unless trained otherwise).")
@click.option("--truncation", type=click.FloatRange(0.0, 1.0), default=1.0, show_default=True, metavar="PSI",
              help="Truncation trick: z -> PSI * z (towards the mean latent); lower = cleaner, less varied images.")
@click.option("--best", is_flag=True, help="A run directory's best checkpoint (RUN/best, kept with eval.every).")
@click.option("--cell", type=click.IntRange(0, 1024), default=64, show_default=True, metavar="PX",
              help="Enlarge images smaller than PX (nearest neighbour, whole factors) so a grid reads at its natural "
                   "size; 0 keeps the raw size.")
def sample(source, n, out, seed, nrow, label, labels, hair, eyes, cond_items, vary, z_std, truncation, best, cell):
    """Write a grid of N samples from a run directory or a SavedModel export (conditional: chosen labels)."""

    from keras_gans.core.images import save_grid
    from keras_gans.core.io_utils import image_format
    from keras_gans.core.seeds import latent_seeds

    image_format(out, what="--out")  # the extension chooses the format: checked before the model loads
    source = Path(source)
    if z_std is not None and not z_std > 0:
        raise UserError(f"--z-std must be > 0 (a standard deviation), got {z_std}")
    wants = label is not None or labels is not None or hair or eyes or cond_items or vary
    named = {k: v for k, v in (("hair", hair), ("eyes", eyes)) if v is not None}
    seeds = latent_seeds(seed, n)
    if best and is_export(source):
        raise UserError(f"--best takes a run directory (its RUN/best checkpoint), not the export {source}")
    if is_export(source):
        import tensorflow as tf

        from keras_gans.export.savedmodel import load_export, read_json_signature

        loaded = load_export(source)
        if "generate" not in loaded.signatures:
            raise UserError(f"{source} has no 'generate' signature (is it a generator export?)")
        metas = read_json_signature(loaded.signatures, "conditions") or []
        if wants and not metas:
            raise UserError(f"{source} is an unconditional generator; drop the label options")
        inputs, nrow = _condition_inputs(metas, seeds, label, labels, named, cond_items, vary, nrow)
        tf_inputs = {k: tf.constant(v) for k, v in inputs.items()}
        if truncation != 1.0 and z_std is None:  # the export's generate hides its sigma: read it from its run
            z_std = _export_run_sigma(source)
        if z_std is None:
            images = loaded.signatures["generate"](**tf_inputs)["images"].numpy()
        else:  # the export's generate has the run's sigma built in: draw the same seeds' z here, scaled
            from keras_gans.models.latent import seeds_to_latent

            serve = loaded.signatures["serving_default"]
            latent = int(serve.structured_input_signature[1]["z"].shape[-1])
            tf_inputs["z"] = seeds_to_latent(tf_inputs.pop("seed"), latent, z_std * truncation)
            images = serve(**tf_inputs)["images"].numpy()
    else:
        from keras_gans.training.build import load_run

        from keras_gans.models.capabilities import CONDITIONAL, LATENT, has, require

        _, model, epoch = load_run(source, best=best)
        require(model, LATENT, "sample")
        metas = model.condition_meta if has(model, CONDITIONAL) else []
        if wants and not metas:
            raise UserError(f"{source} is an unconditional model; drop the label options")
        inputs, nrow = _condition_inputs(metas, seeds, label, labels, named, cond_items, vary, nrow)
        seeds = inputs.pop("seed")
        if z_std is not None:
            model.z_std = float(z_std)
        if truncation != 1.0:
            from keras_gans.models.latent import apply_truncation

            apply_truncation(model, truncation)
        images = model.sample_from_seeds(seeds, **inputs) if metas else model.sample_from_seeds(seeds)
    save_grid(out, images, nrow=nrow, min_cell=cell)
    click.echo(f"wrote {len(images)} samples to {out}")


def _export_run_sigma(source: Path) -> float:
    """net.z_std of the run an export was written by (RUN/export/N -> RUN/config.yaml), for --truncation."""
    import yaml

    for cfg_path in (source / "config.yaml", source.parent.parent / "config.yaml", source.parent / "config.yaml"):
        if cfg_path.is_file():
            try:
                return float((yaml.safe_load(cfg_path.read_text()) or {}).get("net", {}).get("z_std") or 1.0)
            except (yaml.YAMLError, AttributeError, TypeError, ValueError):
                break
    raise UserError(f"--truncation on the export {source} needs its run's latent sigma: pass --z-std SIGMA "
                    "(the run's net.z_std; 1.0 unless trained otherwise)")


def _condition_inputs(metas, seeds, label, labels, named, cond_items, vary, nrow):
    """{'seed': [...], condition: array} for the requested labels; with vary, one row per class of that condition
    (the same seeds in every row). Returns (inputs, images per row)."""
    import numpy as np

    if not metas:
        return {"seed": seeds}, nrow
    from keras_gans.parts.conditioning import cli_requests, request_arrays

    req = cli_requests(metas, label=label, labels=labels, cond_items=cond_items, **named)
    _warn_unseen(metas, named, cond_items, label, vary)
    if vary:
        meta = next((m for m in metas if m["name"] == vary), None)
        if meta is None:
            raise UserError(f"--vary: no condition '{vary}'; conditions: {', '.join(m['name'] for m in metas)}")
        if vary in req:
            raise UserError(f"--vary {vary} and a value for {vary} together: drop one")
        k, cols = len(meta["classes"]), len(seeds)
        row_values = list(range(k)) if meta["type"] == "softmax" else [[c] for c in meta["classes"]]
        req[vary] = [v for v in row_values for _ in range(cols)]
        seeds = np.tile(seeds, k)
        nrow = cols
    arrays = request_arrays(metas, len(seeds), req)
    return {"seed": seeds, **arrays}, nrow


def _warn_unseen(metas, named, cond_items, label, vary):
    """A condition's `unseen` classes (in its metadata: classes G's input has but no training image had, e.g.
    'gray' eyes in an export trained on the anime faces) draw nothing G learnt: say so when one is asked for."""
    import warnings

    asked = dict(named)
    for item in cond_items or ():
        k, _, v = str(item).partition("=")
        asked[k.strip()] = v.strip()
    if label is not None and len(metas) == 1:
        asked[metas[0]["name"]] = str(label)
    for m in metas:
        unseen = [str(c).lower() for c in m.get("unseen") or []]
        if not unseen:
            continue
        value = asked.get(m["name"])
        if value is not None and str(value).strip().lower() in unseen:
            warnings.warn(f"{m['name']} '{value}': no training image had this class, so G never learnt it "
                          f"(the data's {m['name']} classes: {', '.join(c for c in m['classes'] if c not in unseen)})")
        if vary == m["name"]:
            warnings.warn(f"--vary {vary}: the rows for {', '.join(unseen)} show classes no training image had")


@main.command()
@click.argument("run", type=click.Path(exists=True, file_okay=False))
@click.option("--name", help="Model name in saved_models/ (default: the run's name).")
@click.option("--version", type=click.IntRange(1), help="Version number (default: the next free one).")
@click.option("--out", type=click.Path(file_okay=False), default="saved_models", show_default=True)
@click.option("--precision", type=click.Choice(["run", "float32"]), default="run", show_default=True,
              help="float32: float32 compute in the export (fast on CPUs without bf16), whatever the run trained in.")
@click.option("--set", "set_items", multiple=True, metavar="KEY=VALUE",
              help="Export-time keys, e.g. cyclegan.export_directions=to_style or cyclegan.photo_domain=B.")
@click.option("--best", is_flag=True, help="Export the run's best checkpoint (RUN/best, kept with eval.every).")
@click.option("--format", "formats", multiple=True, type=click.Choice(["onnx", "litert"]),
              help="Also write the serving function as ONNX / LiteRT beside the SavedModel (repeatable; needs the "
                   "onnx / litert extra). With --upgrade: for an existing export.")
@click.option("--upgrade", is_flag=True,
              help="RUN is an existing export: rewrite it with this version's signatures (TF Serving REST-valid), "
                   "in place, or as --out/--name/--version when given. Its pixels are unchanged.")
@click.option("--unseen", "unseen_items", multiple=True, metavar="CONDITION=CLASS[,CLASS]",
              help="With --upgrade: mark classes no training image had (e.g. eyes=gray) in the conditions metadata, "
                   "so `sample` warns when they are asked for.")
def export(run, name, version, out, precision, set_items, formats, upgrade, best, unseen_items):
    """Publish a run's generator as a SavedModel in the TF Serving layout OUT/NAME/VERSION/.

    Training keeps its own export in RUN/export/N; this is the step that puts a version where TF Serving looks.
    `export --upgrade EXPORT` brings an export written by an older version up to today's signatures."""
    from keras_gans.export.savedmodel import find_export, next_version, upgrade_export

    formats = list(dict.fromkeys(formats))
    if upgrade:
        if not is_export(Path(run)):
            raise UserError(f"--upgrade takes an export (a folder with saved_model.pb, or NAME/ with versions); "
                            f"{run} is not one (export a run without --upgrade)")
        if set_items or precision != "run" or best:
            raise UserError("--upgrade keeps the export's computation: drop --set, --precision and --best")
        unseen = {}
        for item in unseen_items:
            cond, eq, classes = item.partition("=")
            if not eq or not cond.strip() or not classes.strip():
                raise UserError(f"--unseen takes CONDITION=CLASS[,CLASS], got {item!r}")
            unseen.setdefault(cond.strip(), []).extend(c.strip() for c in classes.split(",") if c.strip())
        src = find_export(run)
        dest = None
        if name or version or out != "saved_models":
            base = Path(out) / (name or src.parent.name)
            dest = base / str(version if version is not None else next_version(base))
        path, changed = upgrade_export(src, dest, unseen=unseen or None)
        what = f"batched {', '.join(changed)}" if changed else "nothing to change but the layout"
        click.echo(f"upgraded {src} to {path} ({what})")
    else:
        if unseen_items:
            raise UserError("--unseen marks classes in an existing export's metadata: use it with --upgrade")
        if is_export(Path(run)):
            raise UserError(f"{run} is an export, not a run: `export --upgrade {run}` rewrites it with this "
                            "version's signatures (add --format onnx|litert for those files)")
        from keras_gans.training.build import load_run
        from keras_gans.export.savedmodel import export_model

        overrides = cli_overrides(set_items)
        if precision == "float32":
            overrides["train.mixed_precision"] = "float32"
        cfg, model, epoch = load_run(run, overrides=overrides, best=best)
        path = export_model(model, out, name or cfg["name"], version)
        click.echo(f"exported {'the best checkpoint, ' if best else ''}epoch {epoch} of {run} to {path}")
    if formats:
        from keras_gans.export.formats import write_formats

        for written in write_formats(path, formats):
            click.echo(f"wrote {written} ({written.stat().st_size / 2**20:.1f} MB; within 1/255 of the SavedModel)")


def register_commands(group: click.Group):
    """Adds the commands of every module in keras_gans/commands/ (one module per area; each lists its top-level
    commands in COMMANDS) to `group`. The command modules never import this module."""
    import importlib
    import pkgutil

    from keras_gans import commands

    for mod in sorted(m.name for m in pkgutil.iter_modules(commands.__path__)):
        for command in getattr(importlib.import_module(f"keras_gans.commands.{mod}"), "COMMANDS", ()):
            group.add_command(command)


register_commands(main)

if __name__ == "__main__":
    main()
