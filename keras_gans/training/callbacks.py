"""Keras callbacks that make a run something a person can watch, stop and resume.

Order matters and `training/driver.py` keeps it: samples (and the diversity signal they add to the logs) -> history rows
-> curves -> checkpoint -> export. History rows are written before the checkpoint, so after a crash at most the
rows of epochs past the last checkpoint exist; resume drops those and recomputes them.
"""

from __future__ import annotations

import csv
import io
import math
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf

from keras_gans.training.curves import augment_target, draw_curves, read_augment_target
from keras_gans.core.images import save_png
from keras_gans.core.io_utils import atomic_write_text, read_csv


def _csv_text(rows: list[dict], fields: list[str]) -> str:
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=fields, extrasaction="ignore", lineterminator="\n")
    w.writeheader()
    for r in rows:
        w.writerow({k: _fmt(r.get(k, "")) for k in fields})
    return buf.getvalue()


def _fmt(v):
    if isinstance(v, (float, np.floating)):
        return f"{float(v):.6g}"
    return v


def _numbers(logs: dict) -> dict:
    out = {}
    for k, v in (logs or {}).items():
        try:
            out[k] = float(v)
        except (TypeError, ValueError):
            pass
    return out


def sample_diversity(images: np.ndarray) -> float:
    """Mean pairwise L2 distance between the fixed-noise samples (in [-1, 1] units per pixel, RMS).
    It falls towards 0 when G collapses onto few outputs: a cheap mode-collapse signal."""
    x = images.reshape(len(images), -1).astype(np.float64) / 127.5 - 1.0
    sq = np.sum(x**2, axis=1)
    d2 = np.maximum(sq[:, None] + sq[None, :] - 2 * x @ x.T, 0.0)
    n = len(x)
    return float(np.sqrt(d2).sum() / (n * (n - 1)) / math.sqrt(x.shape[1])) if n > 1 else 0.0


class SampleGrid(keras.callbacks.Callback):
    """Writes RUN/samples/epoch_XXXX.png on fixed inputs every `every` epochs, and the grid to TensorBoard."""

    def __init__(self, run_dir, n: int = 64, every: int = 1, tb_writer=None):
        super().__init__()
        self.dir = Path(run_dir) / "samples"
        self.n, self.every, self.writer = n, max(1, int(every)), tb_writer

    def on_epoch_end(self, epoch, logs=None):
        if (epoch + 1) % self.every:
            return
        grid, images = self.model.sample_panel(self.n)
        save_png(self.dir / f"epoch_{epoch + 1:04d}.png", grid)
        if len(images) and logs is not None:
            logs["sample_diversity"] = sample_diversity(images)
        if self.writer is not None:
            with self.writer.as_default():
                tf.summary.image("samples", grid[None], step=epoch + 1)
                self.writer.flush()


class HistoryCSV(keras.callbacks.Callback):
    """RUN/history.csv: one row per epoch with every logged number, rewritten atomically each epoch.
    On resume the rows of epochs after the restored checkpoint are dropped (they are trained again)."""

    def __init__(self, run_dir, initial_epoch: int = 0):
        super().__init__()
        self.path = Path(run_dir) / "history.csv"
        self.rows = [r for r in read_csv(self.path) if r.get("epoch", "").isdigit() and int(r["epoch"]) <= initial_epoch]

    def on_epoch_end(self, epoch, logs=None):
        row = {"epoch": epoch + 1, **_numbers(logs)}
        self.rows = [r for r in self.rows if int(r["epoch"]) < epoch + 1] + [row]
        fields = ["epoch"] + sorted({k for r in self.rows for k in r if k != "epoch"})
        atomic_write_text(self.path, _csv_text(self.rows, fields))


class StepLog(keras.callbacks.Callback):
    """RUN/steps.csv: the mean of each logged value over the last `every` steps (the fine-grained learning
    curves). Keras hands callbacks running means since the epoch began; the window mean is recovered from two of
    them, so the curve has no saw-tooth at epoch boundaries. Kept in memory and written atomically at each
    epoch end, in step with the checkpoints."""

    def __init__(self, run_dir, every: int = 10, initial_step: int = 0):
        super().__init__()
        self.path = Path(run_dir) / "steps.csv"
        self.every = max(1, int(every))
        self.rows = [r for r in read_csv(self.path) if r.get("step", "").isdigit() and int(r["step"]) <= initial_step]
        self.step = initial_step
        self.epoch = 0

    def on_epoch_begin(self, epoch, logs=None):
        self.epoch = epoch
        self.prev_count, self.prev = 0, {}

    def on_train_batch_end(self, batch, logs=None):
        self.step += 1
        if self.step % self.every:
            return
        count, now = batch + 1, _numbers(logs)
        window = {}
        for k, m in now.items():
            if k in self.prev and count > self.prev_count:
                window[k] = (count * m - self.prev_count * self.prev[k]) / (count - self.prev_count)
            else:
                window[k] = m
        self.prev_count, self.prev = count, now
        self.rows.append({"step": self.step, "epoch": self.epoch + 1, **window})

    def on_epoch_end(self, epoch, logs=None):
        fields = ["step", "epoch"] + sorted({k for r in self.rows for k in r if k not in ("step", "epoch")})
        atomic_write_text(self.path, _csv_text(self.rows, fields))


class Curves(keras.callbacks.Callback):
    """RUN/curves.png: losses and D(x)/D(G(z)) over steps (from steps.csv), redrawn each epoch (keras_gans.training.curves).
    What the figure needs from the run's config (the adaptive augmentation's target line) is read once, here."""

    def __init__(self, run_dir, cfg: dict | None = None):
        super().__init__()
        self.run_dir = Path(run_dir)
        self.target = augment_target(cfg) if cfg is not None else read_augment_target(self.run_dir)

    def on_epoch_end(self, epoch, logs=None):
        draw_curves(self.run_dir, target=self.target)


class Checkpointer(keras.callbacks.Callback):
    """Saves a RunCheckpoint every `every` epochs and at the end of training."""

    def __init__(self, run_ckpt, every: int = 1, total_epochs: int | None = None, chief: bool = True, budget=None):
        super().__init__()
        self.ckpt, self.every, self.total, self.chief = run_ckpt, max(1, int(every)), total_epochs, chief
        self.budget = budget  # a TimeBudget: its stop is an end of training, so it is checkpointed

    def on_epoch_end(self, epoch, logs=None):
        if not all(math.isfinite(v) for v in _numbers(logs).values()):
            return  # never checkpoint a diverged model: the NaN guard restores the last good one
        last = (self.total and epoch + 1 == self.total) or (self.budget is not None and self.budget.reached)
        if (epoch + 1) % self.every == 0 or last:
            self.ckpt.save(epoch + 1)


class TimeBudget(keras.callbacks.Callback):
    """Ends training once the run has spent `max_minutes` of wall-clock time or `max_cpu_minutes` of CPU time (the
    process's user + system time, all threads), counted over resumes (RUN/time.json): checked after every step, so
    two recipes can be compared at equal cost. The epoch in progress ends there (it is checkpointed as done; samples
    and the export follow as at a normal end). Every run adds its wall and CPU time to RUN/time.json."""

    def __init__(self, max_minutes=None, max_cpu_minutes=None, run_dir=None, record: bool = True):
        super().__init__()
        self.max_wall = float(max_minutes) * 60 if max_minutes else math.inf
        self.max_cpu = float(max_cpu_minutes) * 60 if max_cpu_minutes else math.inf
        self.run_dir = Path(run_dir) if run_dir is not None else None
        self.record = record  # False: read what earlier invocations spent, but leave RUN/time.json to the chief
        self.reached: str | None = None

    @staticmethod
    def _clocks():
        import time

        return time.monotonic(), time.process_time()

    def used(self) -> tuple[float, float]:
        """(wall, CPU) seconds this run has spent, earlier invocations included."""
        wall, cpu = self._clocks()
        return self._base["wall_s"] + wall - self._start[0], self._base["cpu_s"] + cpu - self._start[1]

    def spent(self, before_this_run: bool = False, used: tuple[float, float] | None = None) -> bool:
        wall, cpu = (self._base["wall_s"], self._base["cpu_s"]) if before_this_run else (used or self.used())
        return wall >= self.max_wall or cpu >= self.max_cpu

    def on_train_begin(self, logs=None):
        self.prime()

    def prime(self) -> "TimeBudget":
        """Start the clocks, from what RUN/time.json says earlier invocations spent."""
        self._start = self._clocks()
        self.reached = None
        self._base = {"wall_s": 0.0, "cpu_s": 0.0}
        path = self.run_dir / "time.json" if self.run_dir is not None else None
        if path is not None and path.is_file():
            import json

            try:
                before = json.loads(path.read_text())
                self._base = {k: float(before[k]) for k in self._base}
            except (OSError, ValueError, KeyError, TypeError):
                pass
        return self

    def on_train_batch_end(self, batch, logs=None):
        if self.reached is not None or math.inf == self.max_wall == self.max_cpu:
            return  # stopping already, or no budget: nothing to check on the step path
        wall, cpu = self.used()
        if self.spent(used=(wall, cpu)):
            self.reached = f"time budget reached: {wall:.0f} s wall, {cpu:.0f} s CPU"
            self.model.stop_training = True

    def on_epoch_end(self, epoch, logs=None):
        if self.reached:
            import sys

            print(f"\n{self.reached}; stopping after epoch {epoch + 1}", file=sys.stderr, flush=True)
        if self.run_dir is not None and self.record:  # cumulative over resumes: what benchmarks compare
            import json

            wall, cpu = self.used()
            rec = {"wall_s": round(wall, 2), "cpu_s": round(cpu, 2), "epochs": epoch + 1}
            atomic_write_text(self.run_dir / "time.json", json.dumps(rec, indent=1))


class PeriodicExport(keras.callbacks.Callback):
    """A SavedModel export every `every` epochs: into RUN/export/ (next version) when run_dir is given, and
    published to out_dir/NAME/EPOCH when out_dir (callbacks.export_dir) is set."""

    def __init__(self, out_dir, name, every: int, run_dir=None):
        super().__init__()
        self.out_dir, self.name, self.every, self.run_dir = out_dir, name, int(every), run_dir

    def on_epoch_end(self, epoch, logs=None):
        if self.every and (epoch + 1) % self.every == 0:
            from keras_gans.export.savedmodel import export_model, export_to_run

            if self.run_dir is not None:
                export_to_run(self.model, self.run_dir, epoch + 1, self.out_dir, publish_version=epoch + 1)
            elif self.out_dir:
                export_model(self.model, self.out_dir, self.name, version=epoch + 1)


class EpochLog(keras.callbacks.Callback):
    """One plain line per epoch ("epoch 3/25 - 12.1s - d_loss 0.6931 - ..."), for output that goes to a log file:
    Keras' progress bar redraws itself with ANSI codes and backspaces, which only a terminal understands."""

    def __init__(self, epochs: int):
        super().__init__()
        self.epochs = int(epochs)

    def on_epoch_begin(self, epoch, logs=None):
        import time

        self.t0 = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        import sys
        import time

        parts = [f"epoch {epoch + 1}/{self.epochs}", f"{time.perf_counter() - self.t0:.1f}s"]
        parts += [f"{k} {v:.4g}" for k, v in sorted(_numbers(logs).items())]
        print(" - ".join(parts), file=sys.stdout, flush=True)


class Watchdog(keras.callbacks.Callback):
    """Stops (or warns about) a failing run early: non-finite losses, D loss collapsing to ~0, exploding gradients.

    It reads the logs after every batch (the epoch's running means the model reports). `on_nan`, `on_collapse`
    and `on_grad_norm` are each stop | warn. `d_loss_floor` 0 turns the collapse check off (the WGAN presets do:
    a critic loss near 0 is no failure there). Messages go to stderr and to `self.events` (a list tests read);
    each kind of warning is given once per epoch, not every batch.
    """

    def __init__(self, on_nan: str = "stop", d_loss_floor: float = 1e-3, patience: int = 20,
                 max_grad_norm: float = 1e4, on_collapse: str = "warn", on_grad_norm: str = "warn"):
        super().__init__()
        self.on_nan, self.floor, self.patience = on_nan, float(d_loss_floor or 0.0), int(patience)
        self.max_grad = float(max_grad_norm) if max_grad_norm else math.inf
        self.on_collapse, self.on_grad_norm = on_collapse, on_grad_norm
        self.low = 0
        self.events: list[str] = []
        self.stopped_reason: str | None = None
        self._warned: set[str] = set()

    def _event(self, msg, stop, key=None):
        import sys

        if not stop and key is not None:
            if key in self._warned:
                return
            self._warned.add(key)
        self.events.append(msg)
        print(f"\nwatchdog: {msg}", file=sys.stderr)
        if stop:
            self.stopped_reason = msg
            self.model.stop_training = True

    def on_epoch_begin(self, epoch, logs=None):
        self._warned.clear()

    def on_train_batch_end(self, batch, logs=None):
        logs = _numbers(logs)
        bad = [k for k, v in logs.items() if not math.isfinite(v)]
        if bad:
            self._event(f"non-finite {', '.join(sorted(bad))} at batch {batch}", self.on_nan == "stop", "nan")
            return
        d = logs.get("d_loss")
        if d is not None and abs(d) < self.floor:
            self.low += 1
            if self.low == self.patience:
                self._event(f"d_loss has stayed below {self.floor} for {self.patience} steps: D wins outright, G gets "
                            "no signal (try label smoothing, instance noise, a lower d_lr or spectral norm)",
                            self.on_collapse == "stop", "collapse")
        else:
            self.low = 0
        for k, v in sorted(logs.items()):
            if k.endswith("grad_norm") and v > self.max_grad:
                self._event(f"{k} = {v:.3g} exceeds watchdog.max_grad_norm = {self.max_grad:.3g} at batch {batch} "
                            "(lower the learning rates, or use a gradient penalty / spectral norm)",
                            self.on_grad_norm == "stop", k)
                return


BEST_MODES = {"kid": "min", "fid": "min", "label_score": "max"}


def best_metric(cfg: dict) -> str:
    """The score eval.keep_best follows: eval.best_metric, or (auto) KID when FID is measured, else label_score."""
    e = cfg.get("eval") or {}
    name = e.get("best_metric") or "auto"
    if name == "auto":
        return "kid" if e.get("fid", True) else "label_score"
    return name


class KeepBest(keras.callbacks.Callback):
    """RUN/best/: the checkpoint (and, when the run exports, the export) of the epoch with the best eval score so far,
    beside the run's last. A GAN's last epoch is often not its best (a later collapse, an oscillation); this keeps
    the best one for `sample --best`, `export --best`, `evaluate --best` and the watchdog's rollback.
    RUN/best.json records {metric, mode, value, epoch, export}; it is read back on --resume, so the best of the
    whole run is kept, not the best since the last resume. Epochs without the score in their logs are skipped."""

    def __init__(self, run_dir, metric: str = "kid", export: bool = False):
        super().__init__()
        self.run_dir, self.metric, self.export = Path(run_dir), metric, bool(export)
        self.mode = BEST_MODES[metric]
        self.path = self.run_dir / "best.json"
        self.record = read_best(self.run_dir) or {}
        self._ckpt = None

    def _better(self, v: float) -> bool:
        old = self.record.get("value")
        if old is None or self.record.get("metric") != self.metric:
            return True
        return v < old if self.mode == "min" else v > old

    def on_epoch_end(self, epoch, logs=None):
        import json

        v = (logs or {}).get(self.metric)
        try:
            v = float(v)
        except (TypeError, ValueError):
            return
        if not math.isfinite(v) or not self._better(v):
            return
        from keras_gans.core.checkpoint import RunCheckpoint

        if self._ckpt is None:
            self._ckpt = RunCheckpoint(self.model, self.run_dir / "best", keep=1)
        self._ckpt.save(epoch + 1)
        record = {"metric": self.metric, "mode": self.mode, "value": v, "epoch": epoch + 1,
                  "checkpoint": str(self.run_dir / "best" / "checkpoints")}
        if self.export:
            import shutil

            from keras_gans.export.savedmodel import export_model

            path = export_model(self.model, self.run_dir / "best", "export")
            for old in (self.run_dir / "best" / "export").glob("*"):
                if old.is_dir() and old.name.isdigit() and old != path:
                    shutil.rmtree(old, ignore_errors=True)
            record["export"] = str(path)
        self.record = record
        atomic_write_text(self.path, json.dumps(record, indent=1))


def read_best(run_dir) -> dict | None:
    """RUN/best.json (written by KeepBest), or None."""
    import json

    try:
        rec = json.loads((Path(run_dir) / "best.json").read_text())
        return rec if isinstance(rec, dict) else None
    except (OSError, ValueError):
        return None
