"""Per-key value checks, read off each key's default (type, and numbers >= 0 or >= 1) plus the tables below for
what a default cannot say; tests/test_reliability_values.py checks every key. The allowed words of the extension
points (model, loss.type, net.*arch, train.optimizer, conditional.mode) are the registries' own lists
(models.FAMILIES, keras_gans/core/registry.py), never restated; the families' own tables are merged in from their
sections (models/NAME_config.py)."""

from __future__ import annotations

import difflib
import math
from typing import Any

from keras_gans.core import registry
from keras_gans.config.schema import DEFAULTS, FAMILY_SECTIONS, VALID_KEYS, flatten
from keras_gans.data.images import RESIZE_MODES
from keras_gans.core.errors import UserError
from keras_gans.models import FAMILIES

# ----- value checks, derived from DEFAULTS ----------------------------------------------------------------------
# Every key is checked before anything is written or TensorFlow is imported. The check is read off the key's
# default (bool, int, float, str or list; numbers >= 0, and ints >= 1 when their default is >= 1), so a new key
# is checked the day it is added. The tables below only say what a default cannot: the type of keys whose
# default is None, the allowed words of a choice, and narrower ranges. tests/test_reliability_values.py checks
# every key.
NULLABLE = {  # key -> type of its non-null values (these defaults are None)
    "data.path": str, "data.labels": str, "data.max_images": int, "data.cache_dir": str, "data.channels": int,
    "net.g_arch": str, "net.d_arch": str, "net.weights_init": float, "train.steps_per_epoch": int,
    "train.max_minutes": float, "train.max_cpu_minutes": float,
    "callbacks.export_dir": str, "eval.features": str, "eval.data": str, "watchdog.max_grad_norm": float,
    "eval.label_sets": str, "eval.classifier": str,
    # nets as drawn (docs/nets.md): a scalar or a per-layer list, checked with one line by the net builder
    "net.g_project": int, "net.g_start": int, "net.mlp_hidden": int, "net.d_fc_activation": str,
    "net.conv_bias": bool,
    "train.threads": "any",  # auto | tf | N | [intra, inter]: checked by core/threads.resolve_threads, before any data
    **{f"net.{k}": "ints" for k in ("g_filters", "g_strides", "g_kernel", "g_fc", "d_filters", "d_strides",
                                    "d_kernel", "d_fc")},
    **{f"net.{k}": "words" for k in ("g_padding", "d_padding", "d_pool")},
}
PER_LAYER = {"net.d_dropout", "net.d_norm"}  # a scalar for every layer or a list, one value per layer
CHOICES = {
    # the extension points: the registries' lists themselves (FAMILIES' keys is a live view: a family registered
    # at run time is a valid model at once)
    "model": FAMILIES.keys(),
    "loss.type": registry.LOSSES,
    "net.arch": tuple(registry.ARCHS),
    "net.g_arch": tuple(registry.ARCHS),  # or null (NULLABLE): the net.arch
    "net.d_arch": tuple(registry.ARCHS),
    "train.optimizer": registry.OPTIMIZERS,
    "data.resize": RESIZE_MODES,
    "data.on_bad_file": ("skip", "fail"),
    "data.channels": (1, 3, None),
    "net.g_norm": ("batch", "none"),
    "net.d_norm": ("batch", "layer", "none"),
    "net.d_activation": ("leaky_relu", "relu"),
    "net.d_fc_activation": ("leaky_relu", "relu", "tanh", None),
    "net.g_upsample": ("transpose", "nearest"),
    "net.g_order": ("norm-act", "act-norm"),
    "net.d_order": ("norm-act", "act-norm"),
    "net.d_score_head": ("dense", "conv"),
    "train.mixed_precision": ("auto", "float32", "mixed_bfloat16", "mixed_float16"),
    "train.strategy": ("default", "mirrored", "multiworker"),
    "train.verbose": ("auto", 0, 1, 2),
    "watchdog.on_nan": ("stop", "warn", "restore"),
    "watchdog.on_collapse": ("stop", "warn", "rollback"),
    "eval.best_metric": ("auto", "kid", "fid", "label_score"),
    "watchdog.on_grad_norm": ("stop", "warn"),
}
LISTS_OR_STRINGS = {"augment.policy"}  # "" or a comma-separated string, or a list of names
# key -> (lowest, highest, whether the lowest is allowed, whether the highest is allowed); None = no bound
RANGES = {
    "data.image_size": (8, None, True, True),
    "train.g_lr": (0, None, True, True),  # 0 freezes a net (a legitimate experiment)
    "train.d_lr": (0, None, True, True),
    "train.beta_1": (0, 1, True, False),
    "train.beta_2": (0, 1, True, False),
    "net.d_dropout": (0, 1, True, False),
    "net.z_std": (0, None, False, True),  # the latent noise's standard deviation
    "net.bn_momentum": (0, 1, True, False),
    "net.mlp_hidden": (1, None, True, True),
    "watchdog.nan_lr_factor": (0, 1, False, True),
    "watchdog.nan_retries": (0, None, True, True),
    "eval.n": (2, None, True, True),
    "callbacks.grid_cell": (0, 1024, True, True),
    "augment.p": (0, 1, True, True),
    "augment.target": (0, 1, True, True),  # the r_t = E[sign(D(real))] target of the adaptive mode (parts/augment.py)
    "augment.translation_ratio": (0, 0.5, True, True),
    "augment.cutout_ratio": (0, 1, True, True),
}
for _section in FAMILY_SECTIONS:  # the families' own tables
    NULLABLE.update(_section.NULLABLE)
    CHOICES.update(_section.CHOICES)
    RANGES.update(_section.RANGES)


def key_spec(key: str) -> dict:
    """{type, nullable, choices, lo, hi, lo_ok, hi_ok} for one key, derived from its default and the tables above."""
    default = flatten(DEFAULTS)[key]
    if key in NULLABLE:
        kind, nullable = NULLABLE[key], True
    else:
        kind, nullable = type(default), False
    lo = hi = None
    lo_ok = hi_ok = True
    if kind in (int, float):
        lo = 1 if kind is int and isinstance(default, int) and default >= 1 else 0
    if key in RANGES:
        lo, hi, lo_ok, hi_ok = RANGES[key]
    return {"type": kind, "nullable": nullable, "choices": CHOICES.get(key), "lo": lo, "hi": hi,
            "lo_ok": lo_ok, "hi_ok": hi_ok}


def _describe(spec: dict) -> str:
    if spec["choices"] is not None:
        words = [("null" if c is None else str(c)) for c in spec["choices"]]
        return "one of " + ", ".join(words) + (" or null" if spec["nullable"] and None not in spec["choices"] else "")
    kind = spec["type"]
    if kind == "schedule":
        return "null, 'warmup' or a mapping {epoch: weight}"
    if kind == "ints":
        return "an integer >= 0 or a list of them (one per layer), or null"
    if kind == "words":
        return "a word or a list of words (one per layer), or null"
    if kind == "any":
        return "a value its section documents"
    name = {bool: "true or false", int: "an integer", float: "a number", str: "a string", list: "a list"}[kind]
    if kind in (int, float) and (spec["lo"] is not None or spec["hi"] is not None):
        lo, hi = spec["lo"], spec["hi"]
        if hi is None:
            name += f" >= {lo}" if spec["lo_ok"] else f" > {lo}"
        else:
            name += f" in {'[' if spec['lo_ok'] else '('}{lo}, {hi}{']' if spec['hi_ok'] else ')'}"
    return name + (" or null" if spec["nullable"] else "")


def check_value(key: str, value: Any) -> Any:
    """The value, normalised (a number written as a string, like 1e-4, becomes a float); UserError naming the key
    when its type or range is wrong."""
    spec = key_spec(key)
    kind = spec["type"]

    def bad():
        near = ""
        if spec["choices"] is not None and isinstance(value, str):
            m = difflib.get_close_matches(value, [c for c in spec["choices"] if isinstance(c, str)], n=1)
            near = f" (did you mean {m[0]!r}?)" if m else ""
        return UserError(f"{key} must be {_describe(spec)}, got {value!r}{near} "
                         f"(fix it in the config or with --set {key}=...)")

    if kind in ("ints", "words") and value is not None:  # one value for every layer, or a list: one per layer
        items = value if isinstance(value, list) else [value]
        ok = (lambda v: isinstance(v, int) and not isinstance(v, bool) and v >= 0) if kind == "ints" else \
            (lambda v: isinstance(v, str) and v.strip() != "")
        if not items or not all(ok(v) for v in items):
            raise bad()
        return value
    if kind == "any" or (key in PER_LAYER and isinstance(value, list)):
        return value  # the net builder / schedule validator checks these with their own one-line errors
    if value is None:
        if spec["nullable"] or (spec["choices"] is not None and None in spec["choices"]):
            return None
        raise bad()
    if spec["choices"] is not None:
        if isinstance(value, (bool, list, dict)) or value not in spec["choices"]:
            raise bad()
        return value
    if kind is bool:
        if not isinstance(value, bool):
            raise bad()
        return value
    if key in LISTS_OR_STRINGS:
        if isinstance(value, str) or (isinstance(value, list) and all(isinstance(v, str) for v in value)):
            return value
        raise bad()
    if kind is str:
        if key == "data.cache_dir" and value is False:  # false = no cache at all
            return value
        if not isinstance(value, str) or not value.strip():
            raise bad()
        if key == "name" and ("/" in value or "\\" in value or value in (".", "..")):
            raise bad()
        return value
    if kind is list:
        if not isinstance(value, list):
            raise bad()
        if key == "net.mlp_units" and not all(isinstance(u, int) and not isinstance(u, bool) and u >= 1 for u in value):
            raise bad()
        if key == "data.ignore_tags" and not all(isinstance(x, (str, int, float)) and not isinstance(x, bool)
                                                 for x in value):
            raise bad()  # tags (words), e.g. [polychromatic, long]
        return value
    if kind == "schedule":
        if value in ("warmup", "none") or isinstance(value, dict):
            return value
        raise bad()
    # numbers
    if isinstance(value, bool):
        raise bad()
    if kind is float and isinstance(value, str):
        try:
            value = float(value)
        except ValueError:
            raise bad() from None
    if kind is int and not isinstance(value, int):
        raise bad()
    if kind is float and not isinstance(value, (int, float)):
        raise bad()
    if kind is float and not math.isfinite(value):
        raise bad()
    lo, hi = spec["lo"], spec["hi"]
    if lo is not None and (value < lo or (value == lo and not spec["lo_ok"])):
        raise bad()
    if hi is not None and (value > hi or (value == hi and not spec["hi_ok"])):
        raise bad()
    return value


def check_values(cfg: dict) -> dict:
    """check_value for every key of the schema, in place."""
    for key in VALID_KEYS:
        *sections, leaf = key.split(".")
        node = cfg
        for s in sections:
            node = node[s]
        node[leaf] = check_value(key, node[leaf])
    return cfg
