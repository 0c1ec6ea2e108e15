"""Configuration: YAML presets over one schema of defaults, validated, overridable, recorded per run.

A preset (``configs/NAME.yaml``) may name a ``base:`` preset it extends. Every key must exist in ``DEFAULTS``;
an unknown key is an error that names the nearest valid key. ``--set section.key=value`` overrides any key
(the value is parsed as YAML, so ``--set train.epochs=5`` gives an int). The resolved config is written to
``RUN/config.yaml`` so later commands need only the run directory.

The schema is config_schema.py (composed from the families' sections), the per-key checks config_values.py; this
module loads presets, applies overrides and runs `validate` with the one cross-section `check_compatibility`.
"""

from __future__ import annotations

import copy
import difflib
import os
from pathlib import Path
from typing import Any

import yaml

from keras_gans.config_schema import DEFAULTS, FAMILY_SECTIONS, SECTIONS, VALID_KEYS, flatten
from keras_gans.config_values import (  # noqa: F401  (re-exported: callers and tests import them from here)
    CHOICES, LISTS_OR_STRINGS, NULLABLE, PER_LAYER, RANGES, check_value, check_values, key_spec,
)
from keras_gans.errors import UserError
from keras_gans.io_utils import atomic_write_text
from keras_gans.models import FAMILIES

CONFIG_DIR = Path(__file__).resolve().parent.parent / "configs"


def nearest_key(key: str) -> str:
    candidates = VALID_KEYS + sorted(SECTIONS)
    match = difflib.get_close_matches(key, candidates, n=1, cutoff=0.4)
    if not match:  # compare the last component alone ("epoch" -> "train.epochs")
        tails = {k.split(".")[-1]: k for k in VALID_KEYS}
        m = difflib.get_close_matches(key.split(".")[-1], list(tails), n=1, cutoff=0.5)
        match = [tails[m[0]]] if m else []
    return f" (did you mean '{match[0]}'?)" if match else ""


def merge(base: dict, override: dict, where: str, prefix: str = "") -> dict:
    """Deep-merge override into a copy of base, rejecting keys base does not know."""
    out = copy.deepcopy(base)
    for k, v in (override or {}).items():
        key = f"{prefix}{k}"
        if k not in base:
            raise UserError(f"unknown config key '{key}' in {where}{nearest_key(key)}")
        if isinstance(base[k], dict):
            if not isinstance(v, dict):
                raise UserError(f"config key '{key}' in {where} must be a mapping of keys, got {v!r}")
            out[k] = merge(base[k], v, where, key + ".")
        else:
            out[k] = copy.deepcopy(v)
    return out


def preset_path(name_or_path: str) -> Path:
    """A preset name from configs/ (without .yaml) or a path to a YAML file."""
    p = Path(name_or_path)
    if p.suffix in (".yaml", ".yml") or os.sep in name_or_path:
        if not p.is_file():
            raise UserError(f"config file not found: {name_or_path}")
        return p
    cand = CONFIG_DIR / f"{name_or_path.replace('-', '_')}.yaml"
    if cand.is_file():
        return cand
    known = list_presets()
    m = difflib.get_close_matches(name_or_path, known, n=1)
    hint = f" (did you mean '{m[0]}'?)" if m else ""
    raise UserError(f"unknown model preset '{name_or_path}'{hint}; known presets: {', '.join(known)}")


def list_presets() -> list[str]:
    return sorted(p.stem for p in CONFIG_DIR.glob("*.yaml"))


def read_yaml(path: Path) -> dict:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as e:
        raise UserError(f"{path} is not valid YAML: {e}") from None
    if not isinstance(data, dict):
        raise UserError(f"{path} must hold a mapping of config keys, got {type(data).__name__}")
    return data


def _load_preset_chain(path: Path, seen: tuple = ()) -> dict:
    raw = read_yaml(path)
    base_name = raw.pop("base", None)
    if base_name:
        base_path = preset_path(str(base_name))
        if base_path.resolve() in seen:
            raise UserError(f"config 'base' chain loops at {base_path}")
        base = _load_preset_chain(base_path, seen + (path.resolve(),))
    else:
        base = DEFAULTS
    return merge(base, raw, str(path))


def parse_override(item: str) -> tuple[str, Any]:
    if "=" not in item:
        raise UserError(f"--set expects KEY=VALUE (e.g. train.epochs=5), got '{item}'")
    key, value = item.split("=", 1)
    key = key.strip()
    try:
        parsed = yaml.safe_load(value) if value.strip() != "" else None
    except yaml.YAMLError:
        parsed = value
    return key, parsed


def apply_overrides(cfg: dict, overrides: dict[str, Any]) -> dict:
    cfg = copy.deepcopy(cfg)
    for key, value in overrides.items():
        if key not in VALID_KEYS:
            raise UserError(f"unknown config key '{key}'{nearest_key(key)}")
        node = cfg
        parts = key.split(".")
        for p in parts[:-1]:
            node = node[p]
        node[parts[-1]] = value
    return cfg


def validate(cfg: dict) -> dict:
    """Check values that would otherwise fail deep inside TensorFlow."""
    check_values(cfg)  # every key's type and range first, then the rules that relate keys
    t, d, n = cfg["train"], cfg["data"], cfg["net"]
    for key in ("epochs", "batch_size", "d_steps", "g_steps"):
        if not isinstance(t[key], int) or t[key] < 1:
            raise UserError(f"train.{key} must be a positive integer, got {t[key]!r}")
    if not isinstance(d["image_size"], int) or d["image_size"] < 8:
        raise UserError(f"data.image_size must be an integer >= 8, got {d['image_size']!r}")
    if n["arch"] == "dcgan" and d["image_size"] % 4:
        raise UserError(f"data.image_size must be a multiple of 4 for the dcgan nets, got {d['image_size']}")
    if d["on_bad_file"] not in ("skip", "fail"):
        raise UserError(f"data.on_bad_file must be 'skip' or 'fail', got {d['on_bad_file']!r}")
    if d["channels"] not in (None, 1, 3):
        raise UserError(f"data.channels must be 1, 3 or null, got {d['channels']!r}")
    w = cfg["watchdog"]
    for key, allowed in (("on_nan", ("stop", "warn", "restore")), ("on_collapse", ("stop", "warn", "rollback")),
                         ("on_grad_norm", ("stop", "warn"))):
        if w[key] not in allowed:
            raise UserError(f"watchdog.{key} must be one of {', '.join(allowed)}; got {w[key]!r}")
    if t["strategy"] not in ("default", "mirrored", "multiworker"):
        raise UserError(f"train.strategy must be default, mirrored or multiworker; got {t['strategy']!r}")
    from keras_gans.augment import check_config as check_augment

    check_augment(cfg, sections_read(cfg["model"]))
    check_compatibility(cfg)
    _validate_nets(cfg)
    e = cfg.get("eval") or {}
    if not isinstance(e.get("every"), int) or e["every"] < 0:
        raise UserError(f"eval.every must be an integer >= 0 (epochs between FID measurements), got {e.get('every')!r}")
    if not isinstance(e.get("n"), int) or e["n"] < 2:
        raise UserError(f"eval.n must be an integer >= 2, got {e.get('n')!r}")
    if e.get("every") and e.get("label_sets") and not (e.get("classifier") or str(e.get("features") or "").endswith(".keras")):
        raise UserError("eval.label_sets needs a multi-label classifier: set eval.classifier=FILE.keras "
                        "(from `python cli.py train-classifier --multilabel`)")
    if d.get("resize", "crop") not in ("crop", "squash", "pad"):
        raise UserError(f"data.resize must be crop, squash or pad; got {d['resize']!r}")
    tags = d.get("ignore_tags") or []
    if not isinstance(tags, list) or not all(isinstance(x, (str, int, float)) and not isinstance(x, bool) for x in tags):
        raise UserError(f"data.ignore_tags must be a list of tags (words), e.g. [polychromatic, long], got {d['ignore_tags']!r}")
    if t.get("schedule"):
        from keras_gans.models.schedule import validate_schedule

        validate_schedule(t["schedule"], cfg)
    return cfg


def sections_read(model: str) -> set[str]:
    """The config sections family `model` reads: the shared ones it does not declare SHARED_NOT_READ, and the family
    sections that belong to it (layers below the config, e.g. augment's checks, are told this as a value)."""
    owned = {s.SECTION for s in FAMILY_SECTIONS}
    not_read = {sec for s in FAMILY_SECTIONS if model in s.FAMILIES for sec in getattr(s, "SHARED_NOT_READ", ())}
    own = {s.SECTION for s in FAMILY_SECTIONS if model in s.FAMILIES}
    return {k for k, v in DEFAULTS.items() if isinstance(v, dict) and k not in owned and k not in not_read} | own


def unread_keys(cfg: dict) -> list[str]:
    """One line per key set away from its default that the chosen family never reads (printed as warnings when a
    run starts). Derived, not listed per command: a family section (models/NAME_config.py) is read only by its
    FAMILIES; a family declares the shared sections it never reads (SHARED_NOT_READ, e.g. vae: loss, augment) and
    the values it fixes (SHARED_FIXED, cyclegan: loss.type lsgan); eval.* is read only while eval.every > 0."""
    model = cfg["model"]
    owners = {s.SECTION: tuple(s.FAMILIES) for s in FAMILY_SECTIONS}
    not_read = {sec for s in FAMILY_SECTIONS if model in s.FAMILIES for sec in getattr(s, "SHARED_NOT_READ", ())}
    defaults, out = flatten(DEFAULTS), []
    eval_off = not (cfg.get("eval") or {}).get("every")
    for key, value in flatten(cfg).items():
        section = key.split(".")[0]
        if key not in defaults or value == defaults[key]:
            continue
        if section in owners and model not in owners[section]:
            out.append(f"{key} has no effect: the {section} section is read only by model {' / '.join(owners[section])}, "
                       f"and this run's model is {model}")
        elif section in not_read:
            fixed = next((getattr(s, "SHARED_FIXED", {}) for s in FAMILY_SECTIONS if model in s.FAMILIES), {})
            if key in fixed and value == fixed[key]:
                continue  # the preset names what the family does anyway
            what = f"always uses {key} {fixed[key]}" if key in fixed else f"never reads the {section} section"
            out.append(f"{key} has no effect: model {model} {what}")
        elif section == "eval" and key != "eval.every" and eval_off:
            out.append(f"{key} has no effect: eval.every is 0, so nothing is measured during training (set "
                       "eval.every=N; `python cli.py evaluate` takes its own --features / --data)")
    return out


def _validate_nets(cfg: dict):
    """The issue-13 keys whose bad values would fail late; per-layer lists are checked where the nets are built."""
    n = cfg["net"]
    z = n.get("z_std", 1.0)
    if isinstance(z, bool) or not isinstance(z, (int, float)) or not z > 0:
        raise UserError(f"net.z_std must be a number > 0 (the latent noise's standard deviation), got {z!r}")
    m = n.get("bn_momentum", 0.9)
    if isinstance(m, bool) or not isinstance(m, (int, float)) or not 0 <= m < 1:
        raise UserError(f"net.bn_momentum must be a number in [0, 1), got {m!r}")
    for key, allowed in (("g_upsample", ("transpose", "nearest")), ("g_order", ("norm-act", "act-norm")),
                         ("d_order", ("norm-act", "act-norm")), ("d_score_head", ("dense", "conv"))):
        if n.get(key) not in allowed:
            raise UserError(f"net.{key} must be one of {', '.join(allowed)}; got {n.get(key)!r}")
    if n.get("d_score_head") == "conv" and n.get("d_fc"):
        raise UserError("net.d_score_head=conv reads D's last conv map, but net.d_fc adds Dense layers after it; "
                        "use d_score_head: dense with d_fc")


def check_compatibility(cfg: dict):
    """The one cross-section check (as StudioGAN's check_compatability): the model against the families that
    exist, the loss type against the losses, the nets against the archs, then the rules of the model's own
    section (declared by the family: models/NAME_config.py `validate`)."""
    model = cfg["model"]
    if model not in FAMILIES:
        import difflib

        m = difflib.get_close_matches(str(model), list(FAMILIES), n=1)
        raise UserError(f"unknown model family '{model}'{f' (did you mean {m[0]!r}?)' if m else ''}; "
                        f"known: {', '.join(sorted(FAMILIES))}")
    from keras_gans.losses import LOSSES
    from keras_gans.nets import ARCHS

    if cfg["loss"]["type"] not in LOSSES:
        raise UserError(f"loss.type must be one of {', '.join(LOSSES)}; got {cfg['loss']['type']!r}")
    for key in ("arch", "g_arch", "d_arch"):
        arch = cfg["net"][key]
        if arch is not None and arch not in ARCHS:
            raise UserError(f"net.{key} must be one of {', '.join(ARCHS)}; got {arch!r}")
    for section in FAMILY_SECTIONS:
        if model in section.FAMILIES:
            section.validate(cfg)


# Presets whose nets or training changed visibly (issue 24: the classic experiments at their own settings): a new
# run from one of them says so once, with the way back. Run directories keep their own config.yaml, so resuming or
# sampling an older run is unaffected.
PRESET_CHANGES = {
    "dcgan_mnist": "dcgan_mnist now builds the MNIST lab's 32 px nets (it built 28 px nets before keras_gans 0.2); "
                   "the earlier nets are the preset dcgan_mnist28",
    "vae_faces": "vae_faces is now the face study's own VAE (conv 64, conv 128, pool, FC 1024 + tanh, Adam 1e-4); "
                 "the net it built before keras_gans 0.2 is the preset vae_faces_v1",
    "sngan_bn": "sngan_bn now trains 10 epochs with a fresh z for G (it inherited 25 epochs and train.reuse_fake "
                "from dcgan before keras_gans 0.2); --set train.epochs=25 --set train.reuse_fake=true gives the old setting",
    "acgan_iclevr": "acgan_iclevr now builds the report's nets exactly (no BN + ReLU after G's Linear, no conv "
                    "biases) and D's class head learns from real images only (since keras_gans 0.2)",
}


def load_config(name_or_path: str, overrides: dict[str, Any] | None = None) -> dict:
    """Resolve a preset (with its base chain) and the CLI overrides into one validated config."""
    if name_or_path in PRESET_CHANGES:
        import warnings

        warnings.warn(PRESET_CHANGES[name_or_path], stacklevel=2)
    cfg = _load_preset_chain(preset_path(name_or_path))
    cfg = apply_overrides(cfg, overrides or {})
    return validate(cfg)


def load_run_config(run_dir: str | Path) -> dict:
    """The exact config a run used (RUN/config.yaml), merged over today's defaults for forward compatibility."""
    path = Path(run_dir) / "config.yaml"
    if not path.is_file():
        raise UserError(f"{run_dir} is not a run directory (no config.yaml); pass the --run-dir of a train run")
    return validate(merge(DEFAULTS, read_yaml(path), str(path)))


def save_config(cfg: dict, run_dir: str | Path) -> Path:
    path = Path(run_dir) / "config.yaml"
    atomic_write_text(path, yaml.safe_dump(cfg, sort_keys=False))
    return path

