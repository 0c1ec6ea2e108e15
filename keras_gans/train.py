"""One training driver for every model family: config -> data -> model -> callbacks -> fit -> export.

The family (a GenerativeModel subclass) owns the train_step; this module owns everything around it that must
be the same for all of them: the run directory, the data pipeline, checkpoints and exact resume, the NaN guard,
the callbacks and the final export. Its parts live beside it: `runtime` (threads, seeds, precision, strategy),
`resume` (what a --resume may change), `build` (the compiled model, and `load_run` to rebuild one from a run).
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
import time
from pathlib import Path

from keras_gans.build import build_model
from keras_gans.config import save_config
from keras_gans.errors import UserError
from keras_gans.resume import changed_learning_rates
from keras_gans.runtime import configure_runtime, is_chief, make_strategy

# Their old home: tests, benchmarks and users import these as keras_gans.train.NAME.
from keras_gans.build import load_run  # noqa: F401
from keras_gans.resume import RESUME_MAY_CHANGE, may_change_on_resume, preset_origin, resume_config  # noqa: F401
from keras_gans.runtime import auto_precision, resolve_precision  # noqa: F401


def default_run_dir(cfg: dict) -> Path:
    return Path("runs") / f"{cfg['name']}-{time.strftime('%Y%m%d-%H%M%S')}"


def load_image_set(cfg: dict, progress: bool = True):
    """Kept for callers of train.load_image_set; the data layer owns it (keras_gans.data.source)."""
    from keras_gans.data.source import load_image_set as load

    return load(cfg, progress)


def prepare(cfg: dict):
    """(family class, arrays for the pipeline, data_info) for a config; records the resolved channel count."""
    from keras_gans.models import family_class

    from keras_gans.data.source import load_training_data

    family = family_class(cfg["model"])
    arrays, info = family.prepare_data(cfg, load_training_data(cfg, family.data_kind,
                                                               options=family.data_options(cfg)))
    cfg["data"]["channels"] = int(info["image_shape"][-1])
    return family, arrays, info


def make_callbacks(cfg, run_dir: Path, model, run_ckpt, initial_epoch: int, steps: int, chief: bool, extra=()):
    import keras
    import tensorflow as tf

    from keras_gans import callbacks as cb

    c, w = cfg["callbacks"], cfg["watchdog"]
    writer = tf.summary.create_file_writer(str(run_dir / "logs" / "samples")) if c["tensorboard"] and chief else None
    watchdog = cb.Watchdog(
        on_nan="stop" if w["on_nan"] in ("stop", "restore") else "warn",
        d_loss_floor=w["d_loss_floor"], patience=w["patience"], max_grad_norm=w["max_grad_norm"],
        on_collapse="stop" if w["on_collapse"] == "rollback" else w["on_collapse"], on_grad_norm=w["on_grad_norm"],
    )
    cbs = [watchdog, *model.train_callbacks(run_dir, chief), *extra]
    if chief:
        cbs += [
            cb.SampleGrid(run_dir, c["n_samples"], c["sample_every"], writer),
            *_eval_callbacks(cfg),
            *_keep_best(cfg, run_dir),
            cb.HistoryCSV(run_dir, initial_epoch),
            cb.StepLog(run_dir, c["log_every"], initial_step=initial_epoch * steps),
            cb.Curves(run_dir),
        ]
        if c["tensorboard"]:
            cbs.append(keras.callbacks.TensorBoard(str(run_dir / "logs"), update_freq="epoch"))
    t = cfg["train"]
    budget = cb.TimeBudget(t.get("max_minutes"), t.get("max_cpu_minutes"), run_dir if chief else None)
    cbs.insert(0, budget)
    cbs.append(cb.Checkpointer(run_ckpt, c["checkpoint_every"], t["epochs"], chief, budget=budget))
    if chief and c["export_every"]:
        cbs.append(cb.PeriodicExport(c["export_dir"], cfg["name"], c["export_every"], run_dir=run_dir))
    return cbs, watchdog


def _keep_best(cfg: dict, run_dir: Path) -> list:
    """RUN/best/ of the best eval score (after the eval callbacks, which put the score into the logs)."""
    e, c = cfg.get("eval") or {}, cfg["callbacks"]
    if not e.get("every") or not e.get("keep_best", True):
        return []
    from keras_gans.callbacks import KeepBest, best_metric

    return [KeepBest(run_dir, best_metric(cfg), export=bool(c["export_at_end"] or c["export_every"]))]


def rollback_to_best(model, run_dir: Path, run_ckpt, reason: str) -> int:
    """The watchdog's collapse with watchdog.on_collapse=rollback: restore RUN/best into the model and save it as
    the run's newest checkpoint (so sample, export and --resume continue from it); returns its epoch."""
    from keras_gans.callbacks import read_best
    from keras_gans.checkpoint import RunCheckpoint

    best = read_best(run_dir)
    if not best or not (run_dir / "best" / "checkpoints" / "checkpoint").is_file():
        raise UserError(f"training stopped: {reason}. There is no best checkpoint to roll back to yet (it is kept "
                        "every eval.every epochs with eval.keep_best); the last good checkpoint is in "
                        f"{run_dir / 'checkpoints'}")
    epoch = RunCheckpoint(model, run_dir / "best", keep=1).restore()
    run_ckpt.save(epoch)
    print(f"watchdog: {reason}; rolled back to the best checkpoint, epoch {epoch} ({best['metric']} "
          f"{best['value']:.4g}); it is now the run's newest checkpoint", file=sys.stderr, flush=True)
    return epoch


def _eval_callbacks(cfg: dict) -> list:
    """FID every eval.every epochs into the epoch logs (before HistoryCSV/TensorBoard, which record them)."""
    e = cfg.get("eval") or {}
    if not e.get("every"):
        return []
    from keras_gans.metrics.callback import FIDCallback, LabelSetCallback

    cbs = []
    if e.get("fid", True):
        cbs.append(FIDCallback(cfg, e["every"], e["n"], e["features"], e["data"], seed=int(cfg["train"]["seed"])))
    if e.get("label_sets"):  # the i-CLEVR evaluator's score (label_score) every eval.every epochs
        cbs.append(LabelSetCallback(e["every"], e["label_sets"], e.get("classifier") or e["features"],
                                    seed=int(cfg["train"]["seed"])))
    return cbs


def train(cfg: dict, run_dir: str | Path | None = None, resume: bool = False, verbose=None, extra_callbacks=(),
          origin: dict | None = None):
    """Train a model from a resolved config; returns (model, run_dir, fit history dict).

    resume=True is repeatable, like keras.callbacks.BackupAndRestore: it continues from the newest checkpoint in
    run_dir and starts the run when there is none yet (run_dir missing, or killed before its first checkpoint).
    `origin` ({"preset": ...}) is recorded in RUN/command.json, so a later --resume can tell a contradicting preset.
    A full disk or a read-only folder ends in one UserError line; this run's temporaries are removed and the last
    complete checkpoint stays usable."""
    run_dir = Path(run_dir) if run_dir else default_run_dir(cfg)
    if cfg:
        import warnings

        from keras_gans.config import unread_keys

        for line in unread_keys(cfg):  # valid keys this family never reads: one line each, not silence
            warnings.warn(line, stacklevel=2)
    try:
        return _train(cfg, run_dir, resume, verbose, extra_callbacks, origin)
    except Exception as e:
        from keras_gans.io_utils import disk_error, disk_error_message, remove_stale_temps

        info = disk_error(e)
        if info is None:
            raise
        if run_dir.is_dir():
            try:
                remove_stale_temps(run_dir)
            except OSError:
                pass
        ckpts = run_dir / "checkpoints"
        kept = _latest_checkpoint_epoch(ckpts)
        if info["full"]:
            fix = info["fix"]
        elif kept:  # read-only or foreign: a resume cannot move, so say how to get a writable run folder
            fix = (f"make {run_dir} writable (or copy the whole run folder to one you can write to and pass that "
                   "as --run-dir)")
        else:
            fix = f"{info['fix']} as --run-dir"
        then = (f"the checkpoint of epoch {kept} in {ckpts} is kept: {fix}, then run the same command with "
                "--resume" if kept else f"{fix}, then run the command again")
        msg = disk_error_message(info)
        raise UserError(msg.split("; ")[0] + "; " + then) from None


def _epochs_span(initial_epoch: int, epochs: int) -> str:
    """The header's epochs: 'epochs 3..5' to train, or what a resume of a finished run does (no '3..2')."""
    if initial_epoch < epochs:
        return f"epochs {initial_epoch + 1}..{epochs}"
    return f"nothing to train (the checkpoint is at epoch {initial_epoch} of {epochs})"


def _latest_checkpoint_epoch(ckpts: Path) -> int | None:
    """The epoch of the newest complete checkpoint named by the index (read as text: no TensorFlow needed)."""
    try:
        text = (ckpts / "checkpoint").read_text()
    except OSError:
        return None
    import re

    m = re.search(r'^model_checkpoint_path:\s*"ckpt-(\d+)"', text, re.M)
    return int(m.group(1)) if m else None


def _train(cfg: dict, run_dir: Path, resume: bool, verbose, extra_callbacks, origin):
    ckpt_index = run_dir / "checkpoints" / "checkpoint"
    if not resume and ckpt_index.is_file():
        raise UserError(f"{run_dir} already holds a run; pass --resume to continue it, or choose another --run-dir")
    if resume and not ckpt_index.is_file():
        print(f"--resume: no checkpoint in {run_dir} yet; starting the run", flush=True)
        resume = False

    for key in ("path", "labels"):  # record absolute paths, so --resume works from any folder
        value = cfg["data"].get(key)
        if isinstance(value, str) and value and os.path.exists(value):
            cfg["data"][key] = str(Path(value).resolve())
    for key in ("label_sets", "classifier", "features", "data"):  # eval files too (inception = a name, kept)
        value = (cfg.get("eval") or {}).get(key)
        if isinstance(value, str) and value and os.path.exists(value):
            cfg["eval"][key] = str(Path(value).resolve())
    policy = configure_runtime(cfg)
    strategy = make_strategy(cfg["train"]["strategy"])
    chief = is_chief(strategy)
    family, arrays, info = prepare(cfg)
    check_data_size(cfg, arrays)

    from keras_gans.checkpoint import RunCheckpoint
    from keras_gans.data.pipeline import make_train_dataset
    from keras_gans.data.plan import step_plan

    model = build_model(cfg, info, strategy)
    # Only now, with the config, the data and the model known to work, does the run directory come to exist.
    new_lrs = changed_learning_rates(cfg, run_dir) if resume else {}
    run_dir.mkdir(parents=True, exist_ok=True)
    if chief:
        from keras_gans.io_utils import atomic_write_text, remove_stale_temps

        remove_stale_temps(run_dir)  # what a killed run left half-written is never read, only removed
        save_config(cfg, run_dir)
        atomic_write_text(run_dir / "data_info.json", json.dumps(info, indent=1))
        if origin is not None and not resume:
            atomic_write_text(run_dir / "command.json", json.dumps(origin, indent=1))
    # Every worker must save (the save is collective); only the chief's copy goes into the run directory.
    ckpt_dir = run_dir if chief else Path(tempfile.mkdtemp(prefix="keras-gans-worker-"))
    run_ckpt = RunCheckpoint(model, ckpt_dir, cfg["callbacks"]["keep_checkpoints"])
    # A worker resumes from the chief's checkpoints (the run directory must be shared or copied to every machine).
    initial_epoch = (run_ckpt if chief else RunCheckpoint(model, run_dir)).restore() if resume else 0
    _apply_learning_rates(model, new_lrs)

    t = cfg["train"]
    n_images = min(len(v) for v in arrays.values())
    plan = step_plan(cfg, n_images)  # the one images-per-step / steps-per-epoch rule (the model reads it too)
    steps = plan.steps_per_epoch
    epochs = int(t["epochs"])
    if verbose is None:
        verbose = t["verbose"]
    if verbose == "auto":
        verbose = 1 if sys.stdout.isatty() else 2
    epoch_log = None
    if verbose and (verbose == 2 or not sys.stdout.isatty()):
        from keras_gans.callbacks import EpochLog

        epoch_log = EpochLog(epochs)  # a log gets one plain line per epoch, not a bar redrawn with ANSI codes
        verbose = 0
    print(
        f"training {cfg['name']} ({cfg['model']}, loss {cfg['loss']['type']}) on {n_images} images "
        f"{'x'.join(map(str, info['image_shape']))}, {steps} steps/epoch, {_epochs_span(initial_epoch, epochs)}, "
        f"batch {t['batch_size']}, precision {policy}, {strategy.num_replicas_in_sync} replica(s) -> {run_dir}",
        flush=True,
    )
    history: dict = {}
    retries = 0
    final_epoch = None  # set by a rollback to the best checkpoint
    from keras_gans.callbacks import TimeBudget

    budget = TimeBudget(t.get("max_minutes"), t.get("max_cpu_minutes"), run_dir).prime()
    if initial_epoch < epochs and budget.spent(before_this_run=True):
        wall, cpu = budget.used()
        print(f"time budget already spent ({wall:.0f} s wall, {cpu:.0f} s CPU at epoch {initial_epoch}): nothing to "
              "train; raise train.max_minutes / train.max_cpu_minutes to continue", file=sys.stderr, flush=True)
        initial_epoch = epochs
    while initial_epoch < epochs:
        ds = make_train_dataset(
            arrays, plan.images_per_step, steps, seed=t["seed"], start_epoch=initial_epoch,
            flip=cfg["data"]["flip"], image_keys=family.image_keys,
        )
        cbs, watchdog = make_callbacks(cfg, run_dir, model, run_ckpt, initial_epoch, steps, chief, extra_callbacks)
        if epoch_log is not None:
            cbs.append(epoch_log)  # last: its line shows what the other callbacks added to the logs
        from keras_gans import distributed

        ds = distributed.replica_order(ds, strategy.num_replicas_in_sync, plan.d_slices)
        fit = model.fit if t["strategy"] != "multiworker" else distributed.partial_fit(model, strategy)
        h = fit(ds, epochs=epochs, initial_epoch=initial_epoch, steps_per_epoch=steps, callbacks=cbs, verbose=verbose)
        for k, v in (h.history or {}).items():
            history.setdefault(k, []).extend(v)
        if watchdog.stopped_reason is None:
            break
        w = cfg["watchdog"]
        if w["on_collapse"] == "rollback" and watchdog.stopped_reason.startswith("d_loss has stayed"):
            final_epoch = rollback_to_best(model, run_dir, run_ckpt, watchdog.stopped_reason) if chief else None
            break
        if w["on_nan"] != "restore" or not watchdog.stopped_reason.startswith("non-finite"):
            raise UserError(
                f"training stopped: {watchdog.stopped_reason}. The last good checkpoint is in {run_dir / 'checkpoints'}; "
                "lower the learning rates (--set train.g_lr=... train.d_lr=...) and continue with --resume, "
                "or set watchdog.on_nan=restore to do this automatically"
            )
        retries += 1
        if retries > int(w["nan_retries"]):
            raise UserError(
                f"training stopped: the loss became non-finite again after {w['nan_retries']} restores with lower "
                f"learning rates; the last good checkpoint is in {run_dir / 'checkpoints'}"
            )
        initial_epoch = run_ckpt.restore() if run_ckpt.latest else _reinitialise(model)
        for opt in model.optimizers().values():
            opt.learning_rate.assign(opt.learning_rate * float(w["nan_lr_factor"]))
        print(f"NaN guard: restored epoch {initial_epoch}, learning rates x{w['nan_lr_factor']} "
              f"(retry {retries}/{w['nan_retries']})", file=sys.stderr, flush=True)

    if chief and cfg["callbacks"]["export_at_end"]:
        from keras_gans.export import export_to_run

        record = export_to_run(model, run_dir, final_epoch or epochs, cfg["callbacks"]["export_dir"])
        print(f"exported SavedModel to {run_dir / 'export' / str(record['version'])}", flush=True)
        if record.get("published"):
            print(f"published it to {record['published']} (callbacks.export_dir is set; without it the export "
                  "stays in the run: publish with `python cli.py export RUN`)", flush=True)
    return model, run_dir, history


def _apply_learning_rates(model, lrs: dict):
    """lrs: {config key: lr}; each optimizer takes the key its family declares for it (`lr_keys`)."""
    for name, opt in model.optimizers().items():
        key = model.lr_keys.get(name)
        if key in lrs:
            try:
                opt.learning_rate.assign(lrs[key])
                print(f"--resume: optimizer '{name}' learning rate set to {lrs[key]:g}", flush=True)
            except AttributeError:  # a schedule (cyclegan's decay): it is rebuilt from the config already
                pass


def check_data_size(cfg: dict, arrays: dict):
    """Stop (UserError) where training cannot work, warn where it works badly: fewer images than one batch means
    every batch repeats the same few images (BatchNorm statistics and D's judgement then say little)."""
    import warnings

    from keras_gans.data.plan import step_plan

    t = cfg["train"]
    batch = int(t["batch_size"])
    n = min(len(v) for v in arrays.values())
    if n < 1:
        raise UserError("no training images are left (check data.max_images and the label files)")
    per_step = step_plan(cfg, n).images_per_step
    if n < per_step:
        what = f"{n} training image{'s' if n != 1 else ''}"
        warnings.warn(
            f"only {what} for {per_step} images per step (train.batch_size {batch} x train.d_steps {t['d_steps']}): "
            f"each batch repeats every image about {per_step / n:.0f} times; add images or lower train.batch_size "
            f"(e.g. --batch-size {max(1, min(batch, n))})",
            stacklevel=2,
        )


def _reinitialise(model) -> int:
    raise UserError("the loss became non-finite before the first checkpoint; lower the learning rates and start again")
