"""A compiled model from a config: built for a new run (`build_model`), or rebuilt from a run directory's
config.yaml, data_info.json and newest checkpoint (`load_run`, what sample, export, evaluate, ... start from)."""

from __future__ import annotations

import json
from pathlib import Path

from keras_gans.core.errors import UserError
from keras_gans.core.runtime import configure_runtime


def build_model(cfg: dict, info: dict, strategy=None):
    from keras_gans.models import create_model

    import tensorflow as tf

    strategy = strategy or tf.distribute.get_strategy()
    t = cfg["train"]
    with strategy.scope():
        model = create_model(cfg, info)
        kwargs = {"jit_compile": bool(t["jit_compile"])}
        if t["steps_per_execution"] and int(t["steps_per_execution"]) > 1:
            kwargs["steps_per_execution"] = int(t["steps_per_execution"])
        model.compile(**kwargs)
        model.build_optimizers()
    return model


def load_run(run_dir: str | Path, restore: bool = True, overrides: dict | None = None, best: bool = False):
    """Rebuild a run's model from RUN/config.yaml + RUN/data_info.json and restore its newest checkpoint (best:
    the checkpoint of its best score, RUN/best/, kept during training with eval.every; see callbacks.KeepBest).
    `overrides` ({key: value}) change keys that do not touch the weights, e.g. train.mixed_precision=float32 to
    export a bf16-trained run with float32 compute, or cyclegan.export_directions."""
    from keras_gans.core.checkpoint import RunCheckpoint
    from keras_gans.config.loader import load_run_config

    run_dir = Path(run_dir)
    if best and restore and not (run_dir / "best" / "checkpoints" / "checkpoint").is_file():
        raise UserError(f"{run_dir} has no best checkpoint (RUN/best/); one is kept when training with "
                        "--set eval.every=N (and eval.keep_best on); drop --best to use the last epoch")
    cfg = load_run_config(run_dir, overrides)
    info_path = run_dir / "data_info.json"
    if not info_path.is_file():
        raise UserError(f"{run_dir} has no data_info.json; was it written by `train`?")
    info = json.loads(info_path.read_text())
    cfg["train"]["strategy"] = "default"
    configure_runtime(cfg)  # inference (sample, transfer, export) is one chain of ops: the kernels layout
    model = build_model(cfg, info)
    epoch = 0
    if restore:
        ckpt = RunCheckpoint(model, run_dir / "best" if best else run_dir, cfg["callbacks"]["keep_checkpoints"])
        epoch = ckpt.restore(partial=True)
    return cfg, model, epoch
