"""Checkpoints that resume exactly: nets, optimizer slots, the step counter that seeds the noise, and the epoch.

tf.train.CheckpointManager writes each checkpoint's files first and only then, atomically, the `checkpoint`
index that names the latest; a run killed mid-write therefore still points at the last complete checkpoint.
If the newest one cannot be read anyway (a disk error), restore falls back to the one before it.
"""

from __future__ import annotations

from pathlib import Path

import tensorflow as tf

from keras_gans.core.errors import UserError


class RunCheckpoint:
    def __init__(self, model, run_dir: str | Path, keep: int = 3):
        self.model = model
        self.directory = Path(run_dir) / "checkpoints"
        self.epoch = tf.Variable(0, dtype=tf.int64, trainable=False, name="epochs_done")
        self.ckpt = tf.train.Checkpoint(epoch=self.epoch, **model.checkpoint_items())
        self.manager = tf.train.CheckpointManager(self.ckpt, str(self.directory), max_to_keep=max(1, int(keep)))

    @property
    def latest(self) -> str | None:
        return self.manager.latest_checkpoint

    def save(self, epoch: int) -> str:
        self.epoch.assign(epoch)
        return self.manager.save(checkpoint_number=epoch)

    def restore(self, path: str | None = None, partial: bool = False) -> int:
        """Restore the newest loadable checkpoint (or `path`); return the number of epochs it had completed."""
        candidates = [path] if path else list(reversed(self.manager.checkpoints))
        if not candidates:
            raise UserError(
                f"no checkpoint in {self.directory}; train first, or drop --resume to start a new run"
            )
        errors = []
        for cand in candidates:
            try:
                status = self.ckpt.restore(cand)
                if partial:
                    status.expect_partial()
                else:
                    status.assert_existing_objects_matched()
                return int(self.epoch.numpy())
            except (tf.errors.OpError, AssertionError, ValueError) as e:
                errors.append(f"{cand}: {str(e).splitlines()[0]}")
        raise UserError("no checkpoint in {} could be loaded ({})".format(self.directory, "; ".join(errors)))
