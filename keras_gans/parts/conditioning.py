"""Conditions of conditional models without TensorFlow: the heads a config declares, how data labels map onto
them, and how users' label requests ('--hair blonde', '--label 7', '--labels "red cube,blue sphere"') become
input arrays. Shared by the model (keras_gans/models/conditional.py), `sample`, and the export's metadata.

A condition ("head") is {name, type, classes, weight}:
- softmax: one class of K per image; input int32 [batch] (class index);
- sigmoid: a set of K labels per image; input float32 [batch, K] (multi-hot).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from keras_gans.core.errors import UserError


@dataclass
class Head:
    name: str
    type: str  # softmax | sigmoid
    classes: list[str]
    weight: float = 1.0

    @property
    def k(self) -> int:
        return len(self.classes)

    def meta(self) -> dict:
        return {"name": self.name, "type": self.type, "classes": list(self.classes)}


def head_specs(cfg: dict) -> list[dict]:
    """The one parser of cfg['conditional']['heads']: each head checked (name, type, classes, weight, known keys)
    and returned as {name, type, classes, weight, source}; classes may still be unresolved. Run when the config is
    read (models/conditional_config.py validate), so a typo fails before any image is decoded."""
    c = cfg["conditional"]
    heads = c["heads"] or []
    if not isinstance(heads, list) or not heads:
        raise UserError(
            f"model '{cfg['model']}' needs conditional.heads, a list like "
            "[{name: label, type: softmax}] or [{name: hair, type: softmax, weight: 0.3}, ...]"
        )
    out, seen = [], set()
    for i, h in enumerate(heads):
        if not isinstance(h, dict) or "name" not in h:
            raise UserError(f"conditional.heads[{i}] must be a mapping with at least a name, got {h!r}")
        extra = set(h) - {"name", "type", "classes", "vocabulary", "weight", "source"}
        if extra:
            raise UserError(f"conditional.heads[{i}] has unknown keys {sorted(extra)} "
                            "(known: name, type, classes, weight, source)")
        name = str(h["name"])
        if not name.isidentifier() or name in ("z", "seed", "image") or name in seen:
            raise UserError(f"conditional.heads[{i}].name {name!r} must be a unique identifier other than z, seed, image")
        seen.add(name)
        kind = h.get("type", "softmax")
        if kind not in ("softmax", "sigmoid"):
            raise UserError(f"conditional.heads[{i}].type must be softmax or sigmoid, got {kind!r}")
        classes = h.get("classes", h.get("vocabulary"))
        if classes is not None and not (isinstance(classes, int) and classes >= 1) and not (
            isinstance(classes, list) and classes
        ):
            raise UserError(f"conditional.heads[{i}].classes must be a number of classes or a list of names, got {classes!r}")
        if isinstance(classes, list):
            classes = [str(x).lower() for x in classes]
        weight = h.get("weight", 1.0)
        try:
            weight = float(weight) if not isinstance(weight, bool) else None
        except (TypeError, ValueError):
            weight = None
        if weight is None or not weight >= 0 or weight == float("inf"):
            raise UserError(f"conditional.heads[{i}].weight must be a number >= 0, got {h.get('weight')!r}")
        source = h.get("source")
        if source is not None and (not isinstance(source, (str, int)) or isinstance(source, bool) or str(source) == ""):
            raise UserError(f"conditional.heads[{i}].source must be the name of a label in the data, got {source!r}")
        out.append({"name": name, "type": kind, "classes": classes, "weight": weight,
                    "source": None if source is None else str(source)})
    return out


def resolve(spec: dict, array: np.ndarray, names: list[str] | None, where: str) -> tuple[np.ndarray, list[str]]:
    """Map one data label array onto a head: (array in the head's encoding, the head's class names)."""
    classes = spec["classes"]
    if spec["type"] == "softmax":
        if array.ndim != 1:
            raise UserError(f"head '{spec['name']}' is softmax (one class per image) but {where} gives label sets; "
                            "use type: sigmoid")
        array = array.astype(np.int64)
        if names is None:
            names = [str(i) for i in range(int(array.max()) + 1)]
        names = [str(n).lower() for n in names]
        if isinstance(classes, list):
            index = {n: i for i, n in enumerate(classes)}
            unknown = sorted({names[int(v)] for v in np.unique(array)} - set(index))
            if unknown:
                raise UserError(f"{where} has the class '{unknown[0]}', which head '{spec['name']}' does not list; "
                                f"known: {', '.join(classes)}")
            # the listed classes the data names (a tags CSV names only the tags it has: no 'gray' eyes in the
            # anime faces), in the listed order; a class no image has would be a G input nothing trained
            have = set(names)
            kept = [c for c in classes if c in have]
            if len(kept) < len(classes) and kept:
                index = {n: i for i, n in enumerate(kept)}
                return np.array([index[names[int(v)]] for v in array], np.int32), kept
            return np.array([index[names[int(v)]] for v in array], np.int32), list(classes)
        if isinstance(classes, int):
            if array.max() >= classes:
                raise UserError(f"{where} has {int(array.max()) + 1} classes but head '{spec['name']}' declares {classes}")
            return array.astype(np.int32), names if len(names) == classes else [str(i) for i in range(classes)]
        return array.astype(np.int32), names
    # sigmoid
    if array.ndim == 1:  # one label per image -> one-hot sets
        k = len(names) if names else int(array.max()) + 1
        array = np.eye(k, dtype=np.float32)[array.astype(np.int64)]
    array = array.astype(np.float32)
    if names is None:
        names = [str(i) for i in range(array.shape[1])]
    names = [str(n).lower() for n in names]
    if isinstance(classes, list):
        index = {n: i for i, n in enumerate(names)}
        missing = [c for c in classes if c not in index]
        if missing:
            raise UserError(f"head '{spec['name']}' lists '{missing[0]}', which {where} does not have; "
                            f"known: {', '.join(names)}")
        return array[:, [index[c] for c in classes]], list(classes)
    if isinstance(classes, int) and classes != array.shape[1]:
        raise UserError(f"{where} has {array.shape[1]} labels but head '{spec['name']}' declares {classes}")
    return array, names


def heads_from_info(cfg: dict, data_info: dict) -> list[Head]:
    """Heads with their resolved classes (data_info['conditions']) and today's config weights."""
    specs = {s["name"]: s for s in head_specs(cfg)}
    out = []
    for m in data_info["conditions"]:
        w = specs[m["name"]]["weight"] if m["name"] in specs else 1.0
        out.append(Head(m["name"], m["type"], list(m["classes"]), w))
    return out


# ----- users' label requests -> arrays ---------------------------------------------------------------------------
def _class_index(meta: dict, value) -> int:
    classes = meta["classes"]
    if isinstance(value, (int, np.integer)):
        idx = int(value)
    else:
        v = str(value).strip().lower()
        if v.endswith(" " + meta["name"]):  # 'blonde hair' -> 'blonde'
            v = v[: -len(meta["name"]) - 1].strip()
        if v in classes:
            return classes.index(v)
        if not v.lstrip("-").isdigit():
            raise UserError(f"unknown {meta['name']} '{value}'; known: {', '.join(classes)}")
        idx = int(v)
    if not 0 <= idx < len(classes):
        raise UserError(f"{meta['name']} index {idx} is out of range 0..{len(classes) - 1} ({', '.join(classes)})")
    return idx


def encode_value(meta: dict, value):
    """One request for one condition -> int (softmax) or float32 [K] (sigmoid)."""
    if meta["type"] == "softmax":
        return _class_index(meta, value)
    if isinstance(value, np.ndarray) or (isinstance(value, list) and value and not isinstance(value[0], str)):
        vec = np.asarray(value, np.float32)
        if vec.shape != (len(meta["classes"]),):
            raise UserError(f"{meta['name']}: a label vector needs {len(meta['classes'])} values, got {vec.shape}")
        return vec
    if len(meta["classes"]) == 1 and isinstance(value, (str, int, bool, np.integer)) and str(value).strip().lower() in BINARY:
        return np.array([BINARY[str(value).strip().lower()]], np.float32)  # a binary attribute: smiling=0 / =1
    if isinstance(value, str) and value.strip().lower() in ("", "none"):
        return np.zeros(len(meta["classes"]), np.float32)  # the empty set: every label off (e.g. not smiling)
    items = [s for s in (value.split(",") if isinstance(value, str) else list(value))]
    vec = np.zeros(len(meta["classes"]), np.float32)
    for it in items:
        it = str(it).strip()
        if not it:
            continue
        vec[_class_index(meta, it)] = 1.0
    return vec


BINARY = {"0": 0.0, "1": 1.0, "false": 0.0, "true": 1.0, "no": 0.0, "yes": 1.0, "off": 0.0, "on": 1.0}


def default_arrays(metas: list[dict], n: int) -> dict[str, np.ndarray]:
    """Balanced requests for n images: the first condition cycles fastest (i % K0), the next over blocks of K0..."""
    out, stride = {}, 1
    for m in metas:
        k = len(m["classes"])
        idx = (np.arange(n) // stride) % k
        stride *= k
        out[m["name"]] = idx.astype(np.int32) if m["type"] == "softmax" else np.eye(k, dtype=np.float32)[idx]
    return out


def request_arrays(metas: list[dict], n: int, requests: dict | None = None) -> dict[str, np.ndarray]:
    """Arrays for n images: each requested condition (a scalar/name/list for all images, or one per image);
    conditions not requested are balanced over their classes."""
    requests = dict(requests or {})
    known = {m["name"]: m for m in metas}
    unknown = sorted(set(requests) - set(known))
    if unknown:
        raise UserError(f"this model has no condition '{unknown[0]}'; its conditions: "
                        + "; ".join(f"{m['name']} ({', '.join(m['classes'][:12])}{', ...' if len(m['classes']) > 12 else ''})"
                                    for m in metas))
    out = default_arrays(metas, n)
    for name, value in requests.items():
        m = known[name]
        if m["type"] == "softmax":
            if isinstance(value, (list, tuple, np.ndarray)):
                if len(value) != n:
                    raise UserError(f"{name}: got {len(value)} values for {n} images")
                out[name] = np.array([encode_value(m, v) for v in value], np.int32)
            else:
                out[name] = np.full([n], encode_value(m, value), np.int32)
        else:  # a label set for all images (names 'a,b' / list of names / vector [K]) or one per image
            if isinstance(value, np.ndarray) and value.ndim == 2 or (
                isinstance(value, (list, tuple)) and value and isinstance(value[0], (list, tuple, np.ndarray))
            ):
                if len(value) != n:
                    raise UserError(f"{name}: got {len(value)} label sets for {n} images")
                out[name] = np.stack([encode_value(m, v if isinstance(v, np.ndarray) else list(v)) for v in value])
            else:
                vec = encode_value(m, value if not isinstance(value, tuple) else list(value))
                out[name] = np.tile(np.asarray(vec, np.float32)[None], [n, 1])
    return out


def cli_requests(metas: list[dict], label=None, labels=None, cond_items=(), **named) -> dict:
    """The sample command's flags -> {condition: value}: --label (the single softmax condition), --labels (the
    sigmoid condition), --hair/--eyes and --cond NAME=VALUE (any condition by name)."""
    req = {}
    softmax = [m for m in metas if m["type"] == "softmax"]
    sigmoid = [m for m in metas if m["type"] == "sigmoid"]
    for flag, value, kind, candidates in (("--label", label, "class", softmax), ("--labels", labels, "label-set", sigmoid)):
        if value is None:
            continue
        target = [m for m in metas if m["name"] == flag.lstrip("-")] or candidates
        if len(target) != 1:
            raise UserError(f"{flag} needs a model with one {kind} condition; this one has "
                            + ", ".join(m["name"] for m in metas) + " (use --cond NAME=VALUE)")
        req[target[0]["name"]] = value
    for k, v in named.items():
        if v is not None:
            req[k] = v
    attrs: dict[str, np.ndarray] = {}
    for item in cond_items:
        if "=" not in item:
            raise UserError(f"--cond expects NAME=VALUE (e.g. hair=blonde), got '{item}'")
        k, v = item.split("=", 1)
        k, v = k.strip(), v.strip()
        owner = [m for m in sigmoid if k.lower() in m["classes"]] if k not in {m["name"] for m in metas} else []
        if len(owner) == 1:  # one attribute of a multi-label condition: --cond smiling=0 on an 'attributes' head
            m = owner[0]
            if v.lower() not in BINARY:
                raise UserError(f"--cond {k}=... sets one attribute of '{m['name']}': give 0 or 1, got '{v}'")
            vec = attrs.setdefault(m["name"], np.zeros(len(m["classes"]), np.float32))  # unnamed attributes: 0
            vec[m["classes"].index(k.lower())] = BINARY[v.lower()]
            continue
        req[k] = v
    for name, vec in attrs.items():
        if name in req:
            raise UserError(f"--cond sets attributes of '{name}' and the whole '{name}' condition: use one of them")
        req[name] = vec
    return req
