"""What a --resume may change, and the config a resumed run continues with.

A run's RUN/config.yaml is what was trained; a resume may change only keys that do not change that (more epochs,
the learning rates, callbacks, ...). Everything here compares configs: it needs no TensorFlow and no model.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from keras_gans.config.loader import (apply_overrides, flatten, list_presets, load_config, load_run_config, preset_path,
                               read_yaml, upgrade_moved, upgrade_overrides, validate)
from keras_gans.core.errors import UserError

# What a --resume may change: keys that do not change what is trained (docs/reliability.md lists them). An entry
# ending in "." allows its whole section. Anything else given on a resume must agree with RUN/config.yaml.
RESUME_MAY_CHANGE = (
    "train.epochs", "train.verbose", "train.g_lr", "train.d_lr", "train.strategy", "train.deterministic",
    "train.jit_compile", "train.steps_per_execution",
    "train.max_minutes", "train.max_cpu_minutes", "data.cache_dir", "data.on_bad_file",
    "callbacks.", "watchdog.", "eval.",
)


def may_change_on_resume(key: str) -> bool:
    return any(key == k or (k.endswith(".") and key.startswith(k)) for k in RESUME_MAY_CHANGE)


def preset_origin(preset: str) -> dict:
    """What RUN/command.json records about the preset a run was started from."""
    return {"preset": preset, "preset_file": str(preset_path(preset).resolve())}


def resume_config(run_dir: str | Path, preset: str | None, overrides: dict, config_file: str | None = None) -> dict:
    """The config to continue run_dir with: its recorded config plus the allowed changes from the command line.
    A preset, --config file or --set that contradicts the recorded config is a UserError naming each difference."""
    run_dir = Path(run_dir)
    recorded = load_run_config(run_dir)
    rec = flatten(recorded)
    diffs: list[str] = []

    def differ(a: dict, b: dict, a_name: str, b_name: str):
        fa, fb = flatten(a), flatten(b)
        for k in sorted(fa):
            if fa[k] != fb.get(k) and not may_change_on_resume(k) and k != "data.channels":
                diffs.append(f"{k} is {fa[k]!r} in {a_name}, {fb.get(k)!r} in {b_name}")

    if preset:
        given = load_config(preset)
        try:
            origin = json.loads((run_dir / "command.json").read_text())
        except (OSError, ValueError):
            origin = {}
        was = origin.get("preset_file")
        if was:
            if Path(was).resolve() != preset_path(preset).resolve():
                base = load_config(was) if Path(was).is_file() else recorded
                differ(base, given, f"the run's preset ({origin.get('preset')})", f"preset '{preset}'")
        elif given["name"] != recorded["name"]:  # a run from before command.json: judge by the preset's name
            base = load_config(recorded["name"]) if recorded["name"] in list_presets() else recorded
            differ(base, given, f"the run ({recorded['name']})", f"preset '{preset}'")
    explicit = upgrade_overrides(dict(overrides))  # keys a family moved: their new names (one warning each)
    if config_file:
        explicit.update(flatten(upgrade_moved(read_yaml(Path(config_file)), config_file)))
    asked = validate(apply_overrides(recorded, explicit))
    flat = flatten(asked)
    for k in sorted(explicit):
        new, old = flat[k], rec[k]
        if k in ("data.path", "data.labels") and isinstance(new, str) and os.path.exists(new):
            new = str(Path(new).resolve())
        if new != old and not may_change_on_resume(k):
            diffs.append(f"{k} is {old!r} in the run, {new!r} in the command")
    if diffs:
        shown = "; ".join(diffs[:8]) + (f"; and {len(diffs) - 8} more" if len(diffs) > 8 else "")
        raise UserError(
            f"--resume: the command contradicts the run in {run_dir} ({shown}); a resume may change only "
            "train.epochs, the learning rates and keys that do not change what is trained (callbacks.*, watchdog.*, "
            "eval.*, ...: see docs/reliability.md); start a new run with another --run-dir"
        )
    return asked


def changed_learning_rates(cfg: dict, run_dir: Path) -> dict:
    """{config key: lr} for train.g_lr / d_lr that this resume changes (compared with RUN/config.yaml before it
    is rewritten). The checkpoint restores the optimizers' learning rates (a NaN-guard reduction must survive a
    resume), so a new value asked for on the command line has to be applied after the restore: to the optimizers
    whose family declares that key (the family's `lr_keys`)."""
    try:
        old = load_run_config(run_dir)["train"]
    except UserError:
        return {}
    t = cfg["train"]
    out = {}
    for key in ("g_lr", "d_lr"):
        if float(t[key]) != float(old[key]):
            out[f"train.{key}"] = float(t[key])
    return out
