"""Configuration: YAML presets over one schema of defaults, validated, overridable, recorded per run.

A preset (``configs/NAME.yaml``) may name a ``base:`` preset it extends. Every key must exist in ``DEFAULTS``;
an unknown key is an error that names the nearest valid key. ``--set section.key=value`` overrides any key
(the value is parsed as YAML, so ``--set train.epochs=5`` gives an int). The resolved config is written to
``RUN/config.yaml`` so later commands need only the run directory.

The schema is config/schema.py (composed from the families' sections), the per-key checks config/values.py; this
module loads presets, applies overrides and runs `validate` with the one cross-section `check_compatibility`.
`load_config` is the one way from a preset, a --config file and --set items to a config (validated once), and
`load_run_config` from a run directory. Keys a family moved into its own section (its MOVED table, e.g.
train.ema -> gan.ema) are still read: a user's config or --set gets one warning line per old key; a run
directory's recorded config is mapped quietly.
"""

from __future__ import annotations

import copy
import difflib
import os
import warnings
from pathlib import Path
from typing import Any

import yaml

from keras_gans.config.schema import DEFAULTS, FAMILY_SECTIONS, MOVED, SECTIONS, VALID_KEYS, flatten
from keras_gans.config.values import check_values
from keras_gans.core.errors import UserError
from keras_gans.core.io_utils import atomic_write_text

CONFIG_DIR = Path(__file__).resolve().parents[2] / "configs"


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


def _moved_warning(old: str, where: str) -> None:
    warnings.warn(f"{old} is now {MOVED[old]} ({where}); write {MOVED[old]}: {old} is removed in 0.3", stacklevel=4)


def upgrade_moved(raw: dict, where: str, quiet: bool = False) -> dict:
    """A config mapping as written (a preset, a --config file, a run's config.yaml) with the keys the families
    moved (MOVED: old -> new) put at their new place; one warning line per old key unless quiet (a run directory
    records what it ran with, in the keys of its day)."""
    raw = copy.deepcopy(raw)
    for old, new in MOVED.items():
        (o_sec, o_key), (n_sec, n_key) = old.split("."), new.split(".")
        section = raw.get(o_sec)
        if not isinstance(section, dict) or o_key not in section:
            continue
        value = section.pop(o_key)
        if raw.get(n_sec) is None:
            raw[n_sec] = {}
        if not isinstance(raw[n_sec], dict):
            continue  # merge() names the bad section
        if n_key in raw[n_sec] and raw[n_sec][n_key] != value:
            raise UserError(f"{where} sets both {old} ({value!r}) and {new} ({raw[n_sec][n_key]!r}); keep only {new}")
        raw[n_sec][n_key] = value
        if not quiet:
            _moved_warning(old, where)
    return raw


def upgrade_overrides(overrides: dict[str, Any], where: str = "--set") -> dict[str, Any]:
    """--set items with the moved keys renamed (one warning line per old key)."""
    out = {}
    for key, value in overrides.items():
        if key in MOVED:
            _moved_warning(key, where)
            key = MOVED[key]
        out[key] = value
    return out


def _load_preset_chain(path: Path, seen: tuple = ()) -> dict:
    raw = upgrade_moved(read_yaml(path), str(path))
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
    for key, value in upgrade_overrides(overrides).items():
        if key not in VALID_KEYS:
            raise UserError(f"unknown config key '{key}'{nearest_key(key)}")
        node = cfg
        parts = key.split(".")
        for p in parts[:-1]:
            node = node[p]
        node[parts[-1]] = value
    return cfg


def validate(cfg: dict) -> dict:
    """Every key's type and range (check_values), then the rules that relate keys: the one cross-section
    check_compatibility (which runs the model's own section's rules) and the rules of the shared sections."""
    check_values(cfg)
    d, n = cfg["data"], cfg["net"]
    if n["arch"] == "dcgan" and d["image_size"] % 4:
        raise UserError(f"data.image_size must be a multiple of 4 for the dcgan nets, got {d['image_size']}")
    if n["d_score_head"] == "conv" and n["d_fc"]:
        raise UserError("net.d_score_head=conv reads D's last conv map, but net.d_fc adds Dense layers after it; "
                        "use d_score_head: dense with d_fc")
    check_compatibility(cfg)  # the family's own rules (conditional heads included) before augment's TensorFlow import
    from keras_gans.parts.augment import check_config as check_augment

    check_augment(cfg, sections_read(cfg["model"]))
    e = cfg["eval"]
    if e["every"] and e["label_sets"] and not (e["classifier"] or str(e["features"] or "").endswith(".keras")):
        raise UserError("eval.label_sets needs a multi-label classifier: set eval.classifier=FILE.keras "
                        "(from `python cli.py train-classifier --multilabel`)")
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
            fixed = {k: v for s in FAMILY_SECTIONS if model in s.FAMILIES for k, v in getattr(s, "SHARED_FIXED", {}).items()}
            if key in fixed and value == fixed[key]:
                continue  # the preset names what the family does anyway
            what = f"always uses {key} {fixed[key]}" if key in fixed else f"never reads the {section} section"
            out.append(f"{key} has no effect: model {model} {what}")
        elif section == "eval" and key != "eval.every" and eval_off:
            out.append(f"{key} has no effect: eval.every is 0, so nothing is measured during training (set "
                       "eval.every=N; `python cli.py evaluate` takes its own --features / --data)")
    return out


def check_compatibility(cfg: dict):
    """The one cross-section check (as StudioGAN's check_compatability): the model, loss and nets are checked
    against their registries by the per-key tables (config_values.CHOICES); here run the rules of the model's
    own section, declared by the family (models/NAME_config.py `validate`)."""
    for section in FAMILY_SECTIONS:
        if cfg["model"] in section.FAMILIES:
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
                "from dcgan before keras_gans 0.2); --set train.epochs=25 --set gan.reuse_fake=true gives the old setting",
    "acgan_iclevr": "acgan_iclevr now builds the report's nets exactly (no BN + ReLU after G's Linear, no conv "
                    "biases) and D's class head learns from real images only (since keras_gans 0.2)",
}


def load_config(name_or_path: str, overrides: dict[str, Any] | None = None, config_file: str | None = None) -> dict:
    """Resolve a preset (with its base chain), a --config file laid over it and the CLI overrides into one config,
    validated once."""
    if name_or_path in PRESET_CHANGES:
        warnings.warn(PRESET_CHANGES[name_or_path], stacklevel=2)
    cfg = _load_preset_chain(preset_path(name_or_path))
    if config_file:
        cfg = merge(cfg, upgrade_moved(read_yaml(Path(config_file)), str(config_file)), str(config_file))
    cfg = apply_overrides(cfg, overrides or {})
    return validate(cfg)


def load_run_config(run_dir: str | Path, overrides: dict[str, Any] | None = None) -> dict:
    """The exact config a run used (RUN/config.yaml; keys moved since are mapped quietly), merged over today's
    defaults for forward compatibility, with overrides applied, validated once."""
    path = Path(run_dir) / "config.yaml"
    if not path.is_file():
        raise UserError(f"{run_dir} is not a run directory (no config.yaml); pass the --run-dir of a train run")
    cfg = merge(DEFAULTS, upgrade_moved(read_yaml(path), str(path), quiet=True), str(path))
    return validate(apply_overrides(cfg, overrides or {}))


def resolve_paths(cfg: dict) -> dict:
    """A copy of cfg with the files it names made absolute (data and eval files; inception = a name, kept), so a
    run's recorded config works from any folder (--resume, sample, evaluate)."""
    cfg = copy.deepcopy(cfg)
    for section, keys in (("data", ("path", "labels")), ("eval", ("label_sets", "classifier", "features", "data"))):
        for key in keys:
            value = cfg[section].get(key)
            if isinstance(value, str) and value and os.path.exists(value):
                cfg[section][key] = str(Path(value).resolve())
    return cfg


def resolve_data_keys(cfg: dict, data_info: dict) -> dict:
    """A copy of cfg with what the data settled recorded: data.channels (null = from the data) becomes the
    channel count the run's images have. Done before the model is built, so RUN/config.yaml is what ran."""
    cfg = copy.deepcopy(cfg)
    cfg["data"]["channels"] = int(data_info["image_shape"][-1])
    return cfg


def save_config(cfg: dict, run_dir: str | Path) -> Path:
    path = Path(run_dir) / "config.yaml"
    atomic_write_text(path, yaml.safe_dump(cfg, sort_keys=False))
    return path

