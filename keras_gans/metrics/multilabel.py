"""The multi-label evaluator of the i-CLEVR lab: one generated image per requested label set, scored by a
multi-label classifier that counts how many asked-for labels are among its top-k predictions (k = the number of
labels asked for in that set); the score is the hits over all sets divided by all labels asked for.

A *label set* is a list of names in the classifier's vocabulary: i-CLEVR objects (``red cube``), tags of the
anime-faces form written as ``VALUE CATEGORY`` (``blonde hair``), or attribute names of a CelebA-style table
(``smiling``). Sets come from a file (`read_label_sets`): a JSON list of label lists (i-CLEVR ``test.json``), a
JSON mapping file -> list (``train.json``), a tags CSV (one row per set, ``id,blonde hair blue eyes``) or an
attribute table (the attributes of value 1 of each row). `requests_for_sets` maps them onto a conditional
model's inputs, whatever its heads (one multi-hot sigmoid head, several softmax heads, one-label binary heads).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from keras_gans.core.errors import UserError
from keras_gans.models.capabilities import CONDITIONAL, has
from keras_gans.core.seeds import latent_seeds
from keras_gans.metrics.scores import topk_hits


def read_label_sets(path, categories=()) -> list[list[str]]:
    """Label sets from a file (see the module docstring). `categories` split a tags CSV's text into tags (the
    conditional model's softmax head names, e.g. hair, eyes); without them each comma-separated name is a label."""
    from keras_gans.data import labels as label_io

    path = Path(path)
    text = label_io.read_text(path)
    if path.suffix.lower() == ".json":
        try:
            data = json.loads(text)
        except json.JSONDecodeError as e:
            raise UserError(f"{path} is not valid JSON: {e}") from None
        if isinstance(data, dict):
            data = list(data.values())
        if not isinstance(data, list) or not data:
            raise UserError(f"{path} must hold a list of label sets, e.g. [[\"red cube\"], [\"blue sphere\", \"gray cube\"]]")
        sets = []
        for i, s in enumerate(data):
            if isinstance(s, str):
                s = [x for x in s.split(",")]
            if not isinstance(s, list) or not all(isinstance(x, str) for x in s):
                raise UserError(f"{path}: label set {i} is not a list of names ({s!r})")
            sets.append([x.strip().lower() for x in s if x.strip()])
        return sets
    if label_io.kind_of(path) == "attributes":
        table = label_io.parse_attribute_table(path)
        return [[n.lower() for n, v in zip(table.header, row) if v > 0] for row in table.rows.values()]
    sets = []
    cats = [c.lower() for c in categories]
    import csv
    import io

    for lineno, rec in enumerate(csv.reader(io.StringIO(text)), start=1):
        if not rec or not "".join(rec).strip():
            continue
        body = ",".join(rec[1:]) if len(rec) > 1 else rec[0]
        if lineno == 1 and rec[0].strip().lower() in ("id", "file", "filename", "image", "image_id", "id_or_file"):
            continue
        if cats:
            try:
                sets.append([f"{v} {c}" for c, v in label_io.split_tags(body, cats)])
            except ValueError as e:
                raise UserError(f"{path} line {lineno}: cannot read the tags {body.strip()!r}: {e}") from None
        else:
            sets.append([x.strip().lower() for x in rec if x.strip()])
    if not sets:
        raise UserError(f"{path} holds no label sets")
    return sets


def _lookup(metas: list[dict]):
    """name -> (condition, class index) for every name a label set may use with this model."""
    table: dict[str, tuple[str, int]] = {}
    softmax = [m for m in metas if m["type"] == "softmax"]
    for m in metas:
        for i, c in enumerate(m["classes"]):
            c = str(c).lower()
            if m["type"] == "softmax":
                table.setdefault(f"{c} {m['name']}", (m["name"], i))  # 'blonde hair'
                if len(softmax) == 1:
                    table.setdefault(c, (m["name"], i))
            else:
                table.setdefault(c, (m["name"], i))
        if m["type"] == "sigmoid" and len(m["classes"]) == 1:
            table.setdefault(m["name"].lower(), (m["name"], 0))  # a binary head named after its attribute
    return table


def requests_for_sets(metas: list[dict], sets: list[list[str]]) -> dict[str, np.ndarray]:
    """The model's input arrays for one image per label set. A sigmoid condition gets exactly the set's names
    (absent names are 0); a softmax condition the set's class for it (balanced over its classes when absent)."""
    from keras_gans.parts.conditioning import default_arrays

    if not metas:
        raise UserError("--label-sets needs a conditional model; this run is unconditional")
    table = _lookup(metas)
    out = default_arrays(metas, len(sets))
    for m in metas:
        if m["type"] == "sigmoid":
            out[m["name"]] = np.zeros((len(sets), len(m["classes"])), np.float32)
    for i, s in enumerate(sets):
        for name in s:
            if name not in table:
                raise UserError(f"label set {i} asks for '{name}', which the model cannot be asked for; it knows: "
                                + ", ".join(sorted(table)[:40]) + (" ..." if len(table) > 40 else ""))
            cond, idx = table[name]
            if out[cond].ndim == 1:
                out[cond][i] = idx
            else:
                out[cond][i, idx] = 1.0
    return out


def targets_for_sets(classes: list[str], sets: list[list[str]], where: str = "the classifier") -> np.ndarray:
    """Multi-hot [n_sets, K] over the classifier's classes; a name it does not know is one clear error."""
    index = {str(c).lower(): i for i, c in enumerate(classes)}
    out = np.zeros((len(sets), len(classes)), np.float32)
    for i, s in enumerate(sets):
        for name in s:
            if name not in index:
                raise UserError(f"label set {i} asks for '{name}', which {where} does not know "
                                f"(its classes: {', '.join(map(str, classes[:40]))}); train it on the same labels")
            out[i, index[name]] = 1.0
    return out


class LabelSetEvaluator:
    """Generates one image per label set (seeded, so a run is scored on the same latents every time) and scores
    them with a multi-label classifier (.keras from `train-classifier --multilabel`)."""

    def __init__(self, classifier, sets: list[list[str]], seed: int = 0, repeats: int = 1):
        from keras_gans.metrics.features import ClassifierFeatures

        self.extractor = classifier if isinstance(classifier, ClassifierFeatures) else ClassifierFeatures(classifier)
        classes = self.extractor.meta.get("classes")
        if not classes:
            raise UserError(f"{self.extractor.path} has no class list beside it ({self.extractor.path.with_suffix('.json')})")
        if not self.extractor.meta.get("multilabel"):
            # a softmax classifier still ranks its classes; it scores sets of one label the same way
            if max(len(s) for s in sets) > 1:
                raise UserError(f"{self.extractor.path} is a single-label classifier; sets of several labels need "
                                "one from `train-classifier --multilabel`")
        self.sets, self.seed, self.repeats = sets, int(seed), max(1, int(repeats))
        self.targets = targets_for_sets(classes, sets, str(self.extractor.path))

    def images(self, model, repeat: int = 0) -> np.ndarray:
        metas = model.condition_meta if has(model, CONDITIONAL) else []
        req = requests_for_sets(metas, self.sets)
        seeds = latent_seeds(self.seed * 100 + repeat, len(self.sets))  # seed*100+repeat: 100 repeats per seed
        return model.sample_from_seeds(seeds, **req)

    def evaluate(self, model) -> tuple[dict, np.ndarray]:
        """(result dict, the first repeat's uint8 images [n_sets, H, W, C])."""
        hits = asked = 0
        per_repeat, first = [], None
        per_set = np.zeros(len(self.sets))
        for r in range(self.repeats):
            images = self.images(model, r)
            if first is None:
                first = images
            _, probs = self.extractor.extract(images)
            h, a = topk_hits(probs, self.targets)
            per_repeat.append(float(h.sum() / max(a.sum(), 1)))
            per_set += h
            hits, asked = hits + int(h.sum()), asked + int(a.sum())
        res = {"score": float(hits / asked) if asked else float("nan"), "hits": hits, "asked": asked,
               "n_sets": len(self.sets), "repeats": self.repeats, "per_repeat": per_repeat,
               "per_set_hits": (per_set / self.repeats).tolist(), "seed": self.seed}
        if self.repeats > 1:
            res["std"] = float(np.std(per_repeat))
        return res, first


def label_set_grid(images: np.ndarray, nrow: int = 8) -> np.ndarray:
    """The lab's figure: the label sets' images in rows of `nrow` (32 sets -> 8 x 4)."""
    from keras_gans.core.images import make_grid

    return make_grid(images, nrow=min(nrow, len(images)))
