"""One training driver for every model family: config -> data -> model -> callbacks -> fit -> export.

The core (GenerativeModel) owns train_step as a template and each family supplies its step_updates; this module
owns everything around the step that must be the same for all of them: the run directory, the data pipeline, checkpoints and exact resume, the NaN guard,
the callbacks and the final export. Its parts live beside it: `runtime` (threads, seeds, precision, strategy),
`resume` (what a --resume may change), `build` (the compiled model, and `load_run` to rebuild one from a run).
"""

from __future__ import annotations

import json
import sys
import tempfile
import time
from pathlib import Path

from keras_gans.training.build import build_model
from keras_gans.config.loader import resolve_data_keys, resolve_paths, save_config
from keras_gans.core.errors import UserError
from keras_gans.config.resume import changed_learning_rates
from keras_gans.core.runtime import configure_runtime, is_chief, make_strategy
from keras_gans.models import family_class


def default_run_dir(cfg: dict) -> Path:
    return Path("runs") / f"{cfg['name']}-{time.strftime('%Y%m%d-%H%M%S')}"


def prepare(cfg: dict):
    """(family class, arrays for the pipeline, data_info) for a config (resolve_data_keys then records what the
    data settled, the channel count, in the config the run uses)."""
    from keras_gans.data.source import load_training_data

    family = family_class(cfg["model"])
    arrays, info = family.prepare_data(cfg, load_training_data(cfg, family.data_kind,
                                                               options=family.data_options(cfg)))
    return family, arrays, info


def make_callbacks(cfg, run_dir: Path, model, run_ckpt, initial_epoch: int, steps: int, chief: bool, budget,
                   extra=()):
    """(the run's callbacks, its watchdog); `budget` is the run's one TimeBudget (the driver builds it)."""
    import keras
    import tensorflow as tf

    from keras_gans.training import callbacks as cb

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
            cb.Curves(run_dir, cfg),
        ]
        if c["tensorboard"]:
            cbs.append(keras.callbacks.TensorBoard(str(run_dir / "logs"), update_freq="epoch"))
    cbs.insert(0, budget)
    cbs.append(cb.Checkpointer(run_ckpt, c["checkpoint_every"], cfg["train"]["epochs"], chief, budget=budget))
    if chief and c["export_every"]:
        cbs.append(cb.PeriodicExport(c["export_dir"], cfg["name"], c["export_every"], run_dir=run_dir))
    return cbs, watchdog


def _keep_best(cfg: dict, run_dir: Path) -> list:
    """RUN/best/ of the best eval score (after the eval callbacks, which put the score into the logs)."""
    e, c = cfg.get("eval") or {}, cfg["callbacks"]
    if not e.get("every") or not e.get("keep_best", True):
        return []
    from keras_gans.training.callbacks import KeepBest, best_metric

    return [KeepBest(run_dir, best_metric(cfg), export=bool(c["export_at_end"] or c["export_every"]))]


def rollback_to_best(model, run_dir: Path, run_ckpt, reason: str) -> int:
    """The watchdog's collapse with watchdog.on_collapse=rollback: restore RUN/best into the model and save it as
    the run's newest checkpoint (so sample, export and --resume continue from it); returns its epoch."""
    from keras_gans.training.callbacks import read_best
    from keras_gans.core.checkpoint import RunCheckpoint

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

        from keras_gans.config.loader import unread_keys

        for line in unread_keys(cfg):  # valid keys this family never reads: one line each, not silence
            warnings.warn(line, stacklevel=2)
    try:
        return _train(cfg, run_dir, resume, verbose, extra_callbacks, origin)
    except Exception as e:
        from keras_gans.core.io_utils import disk_error, disk_error_message, remove_stale_temps

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
    """The driver's steps, in order: the run folder, the runtime, the data and its step plan (computed once), the
    model, the run's files and checkpoint, the progress line, the time budget (built once), fit under the NaN
    guard, the export."""
    resume = _check_run_dir(run_dir, resume)
    cfg = resolve_paths(cfg)  # the config the run uses and records: absolute paths, then the data's channels
    policy = configure_runtime(cfg, family_class(cfg["model"]).thread_layout)
    strategy = make_strategy(cfg["train"]["strategy"])
    chief = is_chief(strategy)
    family, arrays, info = prepare(cfg)
    cfg = resolve_data_keys(cfg, info)  # settled before the model is built; RUN/config.yaml records this one
    plan = _step_plan(cfg, family, arrays)  # the one images-per-step / steps-per-epoch rule for this run
    check_data_size(cfg, plan)
    model = build_model(cfg, info, strategy)
    run_ckpt, initial_epoch = _open_run(cfg, run_dir, model, info, chief, resume, origin)
    epochs = int(cfg["train"]["epochs"])
    verbose, epoch_log = _progress(cfg, verbose, epochs)
    _print_header(cfg, info, plan, initial_epoch, policy, strategy, run_dir)
    from keras_gans.training.callbacks import TimeBudget

    t = cfg["train"]  # every worker reads the run's time.json; only the chief records to it
    budget = TimeBudget(t.get("max_minutes"), t.get("max_cpu_minutes"), run_dir, record=chief).prime()
    initial_epoch = _skip_spent_budget(budget, initial_epoch, epochs)
    loop = _FitLoop(cfg, run_dir, model, run_ckpt, chief, strategy, family, arrays, plan, budget, epoch_log,
                    extra_callbacks, verbose)
    history, final_epoch = loop.run(initial_epoch, epochs)
    if chief and cfg["callbacks"]["export_at_end"]:
        _export_at_end(cfg, model, run_dir, final_epoch or epochs)
    return model, run_dir, history


def _check_run_dir(run_dir: Path, resume: bool) -> bool:
    """Whether this is a resume: a new run never writes over a run folder; a --resume of one without a checkpoint
    yet starts it."""
    ckpt_index = run_dir / "checkpoints" / "checkpoint"
    if not resume and ckpt_index.is_file():
        raise UserError(f"{run_dir} already holds a run; pass --resume to continue it, or choose another --run-dir")
    if resume and not ckpt_index.is_file():
        print(f"--resume: no checkpoint in {run_dir} yet; starting the run", flush=True)
        return False
    return resume



def _step_plan(cfg: dict, family, arrays: dict):
    """The run's one images-per-step / steps-per-epoch rule; the family says how many real batches a step takes."""
    from keras_gans.data.plan import step_plan

    return step_plan(cfg, min(len(v) for v in arrays.values()), family.real_batches_per_step(cfg))


def _open_run(cfg: dict, run_dir: Path, model, info: dict, chief: bool, resume: bool, origin):
    """(the run's checkpoint, the epoch to start from): the run folder comes to exist only now, with the config,
    the data and the model known to work; its config, data_info and command files are written by the chief."""
    from keras_gans.core.checkpoint import RunCheckpoint

    new_lrs = changed_learning_rates(cfg, run_dir) if resume else {}
    run_dir.mkdir(parents=True, exist_ok=True)
    if chief:
        from keras_gans.core.io_utils import atomic_write_text, remove_stale_temps

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
    return run_ckpt, initial_epoch


def _progress(cfg: dict, verbose, epochs: int):
    """(Keras's fit verbosity, an EpochLog or None): a log gets one plain line per epoch, not a bar redrawn with
    ANSI codes."""
    if verbose is None:
        verbose = cfg["train"]["verbose"]
    if verbose == "auto":
        verbose = 1 if sys.stdout.isatty() else 2
    if verbose and (verbose == 2 or not sys.stdout.isatty()):
        from keras_gans.training.callbacks import EpochLog

        return 0, EpochLog(epochs)
    return verbose, None


def _print_header(cfg: dict, info: dict, plan, initial_epoch: int, policy, strategy, run_dir: Path):
    t = cfg["train"]
    print(
        f"training {cfg['name']} ({cfg['model']}, loss {cfg['loss']['type']}) on {plan.n_images} images "
        f"{'x'.join(map(str, info['image_shape']))}, {plan.steps_per_epoch} steps/epoch, "
        f"{_epochs_span(initial_epoch, int(t['epochs']))}, batch {t['batch_size']}, precision {policy}, "
        f"{strategy.num_replicas_in_sync} replica(s) -> {run_dir}",
        flush=True,
    )


def _skip_spent_budget(budget, initial_epoch: int, epochs: int) -> int:
    """The epoch to start from: all of them done when earlier invocations spent the time budget already."""
    if initial_epoch < epochs and budget.spent(before_this_run=True):
        wall, cpu = budget.used()
        print(f"time budget already spent ({wall:.0f} s wall, {cpu:.0f} s CPU at epoch {initial_epoch}): nothing to "
              "train; raise train.max_minutes / train.max_cpu_minutes to continue", file=sys.stderr, flush=True)
        return epochs
    return initial_epoch


class _FitLoop:
    """model.fit from an epoch to the end, under the NaN guard: a non-finite loss restores the last good checkpoint
    with lower learning rates (watchdog.on_nan=restore), a collapse rolls back to the best one
    (watchdog.on_collapse=rollback); anything else stops with what to do."""

    def __init__(self, cfg, run_dir, model, run_ckpt, chief, strategy, family, arrays, plan, budget, epoch_log,
                 extra_callbacks, verbose):
        self.cfg, self.run_dir, self.model, self.run_ckpt, self.chief = cfg, run_dir, model, run_ckpt, chief
        self.strategy, self.family, self.arrays, self.plan, self.budget = strategy, family, arrays, plan, budget
        self.epoch_log, self.extra, self.verbose = epoch_log, extra_callbacks, verbose

    def run(self, initial_epoch: int, epochs: int) -> tuple[dict, int | None]:
        """(the fit history over every try, the epoch a rollback ended on or None)."""
        history: dict = {}
        retries = 0
        while initial_epoch < epochs:
            watchdog = self.fit_once(initial_epoch, epochs, history)
            if watchdog.stopped_reason is None:
                break
            if self.cfg["watchdog"]["on_collapse"] == "rollback" and watchdog.stopped_reason.startswith("d_loss has stayed"):
                if not self.chief:
                    return history, None
                return history, rollback_to_best(self.model, self.run_dir, self.run_ckpt, watchdog.stopped_reason)
            retries += 1
            initial_epoch = self.restore_after_nan(watchdog.stopped_reason, retries)
        return history, None

    def fit_once(self, initial_epoch: int, epochs: int, history: dict):
        """One model.fit from initial_epoch; its history is appended to `history`; returns its watchdog."""
        from keras_gans.training import distributed
        from keras_gans.data.pipeline import make_train_dataset

        cfg, t, plan = self.cfg, self.cfg["train"], self.plan
        ds = make_train_dataset(
            self.arrays, plan.images_per_step, plan.steps_per_epoch, seed=t["seed"], start_epoch=initial_epoch,
            flip=cfg["data"]["flip"], image_keys=self.family.image_keys,
        )
        cbs, watchdog = make_callbacks(cfg, self.run_dir, self.model, self.run_ckpt, initial_epoch,
                                       plan.steps_per_epoch, self.chief, self.budget, self.extra)
        if self.epoch_log is not None:
            cbs.append(self.epoch_log)  # last: its line shows what the other callbacks added to the logs
        ds = distributed.replica_order(ds, self.strategy.num_replicas_in_sync, plan.d_slices)
        fit = self.model.fit if t["strategy"] != "multiworker" else distributed.partial_fit(self.model, self.strategy)
        h = fit(ds, epochs=epochs, initial_epoch=initial_epoch, steps_per_epoch=plan.steps_per_epoch, callbacks=cbs,
                verbose=self.verbose)
        for k, v in (h.history or {}).items():
            history.setdefault(k, []).extend(v)
        return watchdog

    def restore_after_nan(self, reason: str, retries: int) -> int:
        """The epoch to continue from after a stop for `reason`: the last good checkpoint, learning rates lowered."""
        w, ckpts = self.cfg["watchdog"], self.run_dir / "checkpoints"
        if w["on_nan"] != "restore" or not reason.startswith("non-finite"):
            raise UserError(
                f"training stopped: {reason}. The last good checkpoint is in {ckpts}; "
                "lower the learning rates (--set train.g_lr=... train.d_lr=...) and continue with --resume, "
                "or set watchdog.on_nan=restore to do this automatically"
            )
        if retries > int(w["nan_retries"]):
            raise UserError(
                f"training stopped: the loss became non-finite again after {w['nan_retries']} restores with lower "
                f"learning rates; the last good checkpoint is in {ckpts}"
            )
        initial_epoch = self.run_ckpt.restore() if self.run_ckpt.latest else _reinitialise(self.model)
        for opt in self.model.optimizers().values():
            opt.learning_rate.assign(opt.learning_rate * float(w["nan_lr_factor"]))
        print(f"NaN guard: restored epoch {initial_epoch}, learning rates x{w['nan_lr_factor']} "
              f"(retry {retries}/{w['nan_retries']})", file=sys.stderr, flush=True)
        return initial_epoch


def _export_at_end(cfg: dict, model, run_dir: Path, epoch: int):
    from keras_gans.export.savedmodel import export_to_run

    record = export_to_run(model, run_dir, epoch, cfg["callbacks"]["export_dir"])
    print(f"exported SavedModel to {run_dir / 'export' / str(record['version'])}", flush=True)
    if record.get("published"):
        print(f"published it to {record['published']} (callbacks.export_dir is set; without it the export "
              "stays in the run: publish with `python cli.py export RUN`)", flush=True)


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


def check_data_size(cfg: dict, plan):
    """Stop (UserError) where training cannot work, warn where it works badly: fewer images than one batch means
    every batch repeats the same few images (BatchNorm statistics and D's judgement then say little). `plan` is the
    run's step plan (keras_gans.data.plan.step_plan)."""
    import warnings

    t = cfg["train"]
    batch = int(t["batch_size"])
    n = plan.n_images
    if n < 1:
        raise UserError("no training images are left (check data.max_images and the label files)")
    per_step = plan.images_per_step
    if n < per_step:
        what = f"{n} training image{'s' if n != 1 else ''}"
        slices = f" x {plan.d_slices} real batches (gan.d_steps)" if plan.d_slices > 1 else ""
        warnings.warn(
            f"only {what} for {per_step} images per step (train.batch_size {batch}{slices}): "
            f"each batch repeats every image about {per_step / n:.0f} times; add images or lower train.batch_size "
            f"(e.g. --batch-size {max(1, min(batch, n))})",
            stacklevel=2,
        )


def _reinitialise(model) -> int:
    raise UserError("the loss became non-finite before the first checkpoint; lower the learning rates and start again")
