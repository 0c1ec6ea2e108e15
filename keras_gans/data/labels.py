"""Label sources for conditional models: files -> label arrays aligned with an ImageSet's paths.

Every source gives a `Labels`: named arrays (one row per image, in the ImageSet's order) and the class names of
each array. Integer arrays (int32 [N]) are single-choice conditions (softmax heads: a class index); float arrays
(float32 [N, K], 0/1) are multi-hot label sets (sigmoid heads).

Formats (DESIGN.md, "Data"):

- **tags CSV**, the anime-faces form: ``id_or_file,blonde hair blue eyes``. A tag is the words up to and including
  a category word; the category words are the condition names (``hair``, ``eyes``). So ``light blue hair`` is the
  tag ``light blue`` for ``hair``. Each row gives one class per category -> int32 arrays ``hair``, ``eyes``.
  Rule for rows that do not give exactly one tag per category: a row with *no* tag for a category is left out (the
  image is dropped from training, with one warning counting such rows); a row with *several* tags for a category
  keeps the *first* one (also counted in a warning). A tag not in the configured class list is an error naming the
  tag, its line and the known tags. The id matches an image by relative path, file name or file stem.
- **i-CLEVR JSON**: ``objects.json`` (name -> index, the vocabulary) + ``train.json`` (file name -> list of object
  names) -> float32 multi-hot ``labels`` [N, K].
- **class sub-folders**: ``ROOT/CLASS/...image`` -> int32 ``label``; classes are the folder names, sorted
  (numerically when all are integers).
- **CelebA-style attribute table**: ``list_attr_celeba.txt`` (count line, header line of attribute names, then
  ``file v1 v2 ...`` with 1/-1) or a CSV with a header (``image_id,Smiling,...`` with 1/-1 or 1/0)
  -> float32 multi-hot ``attributes`` [N, K].
"""

from __future__ import annotations

import csv
import io
import json
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from keras_gans.core.errors import UserError


@dataclass
class Labels:
    arrays: dict[str, np.ndarray]  # name -> int32 [N] or float32 [N, K]
    names: dict[str, list[str]]  # name -> class names
    keep: np.ndarray | None = None  # bool [N_images]: images that have labels (None = all)
    source: str = ""
    notes: list[str] = field(default_factory=list)


def read_text(path: str | Path) -> str:
    """A label file's text; non-UTF-8 bytes are a clear error."""
    path = Path(path)
    if not path.is_file():
        raise UserError(f"labels file not found: {path}")
    data = path.read_bytes()
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        line = data[: e.start].count(b"\n") + 1
        raise UserError(
            f"{path} is not UTF-8 text (byte 0x{data[e.start]:02x} on line {line}); save it as UTF-8 and try again"
        ) from None


def _image_keys(path: str, root: Path | None) -> list[str]:
    """The ways a label row may name an image: relative path, file name, stem (all with / separators)."""
    p = Path(path)
    keys = []
    if root is not None:
        try:
            keys.append(p.resolve().relative_to(root.resolve()).as_posix())
        except ValueError:
            pass
    keys += [p.name, p.stem]
    if p.stem.isdigit():  # '00012.png' matches the id '12'
        keys.append(str(int(p.stem)))
    return keys


def match_rows(paths: list[str], root: Path | None, rows: dict[str, object]) -> list[object]:
    """Row for each image path, matched by relative path, file name or stem (None where no row names it)."""
    return [next((rows[k] for k in _image_keys(p, root) if k in rows), None) for p in paths]


def read_label_rows(path: Path, what: str = "--labels") -> dict[str, str]:
    """CSV rows `file_or_id,label` as {file_or_id: label} (the anime-faces tags form `12,blonde hair blue eyes`);
    a header row is fine."""
    path = Path(path)
    if not path.is_file():
        raise UserError(f"{what}: no such file {path} (give a CSV of file_or_id,label or 'class-subfolders')")
    out = {}
    for row in csv.reader(io.StringIO(read_text(path))):
        if len(row) >= 2 and row[0].strip():
            out[row[0].strip()] = ",".join(row[1:]).strip()
    if not out:
        raise UserError(f"{what}: {path} holds no `file_or_id,label` rows")
    return out


def _align(paths: list[str], root: Path | None, rows: dict[str, object], source: str) -> list[object]:
    """Row for each image path (matched by relative path, name or stem); missing ids are one clear error."""
    out = match_rows(paths, root, rows)
    missing = [p for p, r in zip(paths, out) if r is None]
    if missing:
        raise UserError(
            f"{len(missing)} of {len(paths)} images have no row in {source} (first: {missing[0]}); rows are matched by "
            "relative path, file name or file name without extension; add the rows or remove those images"
        )
    return out


def _sort_names(names) -> list[str]:
    names = list(names)
    if names and all(n.lstrip("-").isdigit() for n in names):
        return sorted(names, key=int)
    return sorted(names)


# ----- tags CSV (anime-faces form) -----------------------------------------------------------------------------
def split_tags(text: str, categories: list[str]) -> list[tuple[str, str]]:
    """'blonde hair blue eyes' -> [('hair', 'blonde'), ('eyes', 'blue')]. Words after the last category word, or
    a category word with no value, are an error (ValueError with the reason)."""
    words = text.replace(",", " ").replace("\t", " ").split()
    tags, value = [], []
    for w in words:
        lw = w.lower()
        if lw in categories:
            if not value:
                raise ValueError(f"'{w}' has no value before it")
            tags.append((lw, " ".join(value).lower()))
            value = []
        else:
            value.append(w)
    if value:
        raise ValueError(
            f"'{' '.join(value)}' is not followed by a category word ({', '.join(categories)}); "
            f"tags look like 'blonde hair blue eyes'"
        )
    return tags


def parse_tags_csv(path, categories: list[str], vocab: dict[str, list[str] | None] | None = None, ignore=()):
    """{id: {category: value}} plus counts of rows with no / several tags per category.

    vocab: category -> allowed class names (None = any; the classes are then the sorted set seen).
    ignore: tags dropped from every row before the rules apply (data.ignore_tags), by value (``long``) or in
    full (``long hair``), so a row's other tags still count; a row left with no tag for a category is dropped."""
    vocab = vocab or {}
    ignore = {str(t).strip().lower() for t in (ignore or ())}
    text = read_text(path)
    rows: dict[str, dict[str, str | None]] = {}
    several = {c: 0 for c in categories}
    for lineno, rec in enumerate(csv.reader(io.StringIO(text)), start=1):
        if not rec or not "".join(rec).strip():
            continue
        if len(rec) < 2:
            raise UserError(f"{path} line {lineno}: expected 'id_or_file,tags' (e.g. '12,blonde hair blue eyes'), got {rec[0]!r}")
        key, tagtext = rec[0].strip(), ",".join(rec[1:])
        if lineno == 1 and key.lower() in ("id", "file", "filename", "image", "image_id", "id_or_file"):
            continue  # a header row
        try:
            tags = split_tags(tagtext, categories)
        except ValueError as e:
            raise UserError(f"{path} line {lineno}: cannot read the tags {tagtext.strip()!r}: {e}") from None
        row: dict[str, str | None] = {c: None for c in categories}
        for cat, value in tags:
            if ignore and (value in ignore or f"{value} {cat}" in ignore):
                continue
            allowed = vocab.get(cat)
            if allowed is not None and value not in allowed:
                raise UserError(
                    f"{path} line {lineno}: unknown tag '{value} {cat}'; known {cat} tags: {', '.join(allowed)} "
                    f"(edit the file, or list the class under conditional.heads)"
                )
            if row[cat] is None:
                row[cat] = value
            else:
                several[cat] += 1
        rows[key] = row
    if not rows:
        raise UserError(f"{path} holds no label rows (expected lines like '12,blonde hair blue eyes')")
    return rows, several


def labels_from_tags_csv(path, paths: list[str], root, categories: list[str], vocab=None, ignore=()) -> Labels:
    rows, several = parse_tags_csv(path, categories, vocab, ignore)
    aligned = _align(paths, Path(root) if root else None, rows, str(path))
    vocab = vocab or {}
    seen = {c: {r[c] for r in rows.values() if r[c]} for c in categories}  # the whole file (max_images keeps them)
    names = {c: [n for n in vocab[c] if n in seen[c]] if vocab.get(c) is not None else _sort_names(seen[c])
             for c in categories}
    keep = np.array([all(r[c] is not None for c in categories) for r in aligned])
    notes = []
    for c in categories:  # a declared class no image has cannot be learnt: the head gets the data's classes
        unseen = [n for n in (vocab.get(c) or []) if n not in seen[c]]
        if unseen and names[c]:
            notes.append(f"no row of {path} has the {c} tag{'s' if len(unseen) > 1 else ''} "
                         f"{', '.join(unseen)} listed under conditional.heads: the {c} head has the "
                         f"{len(names[c])} classes the data has")
    for c in categories:
        missing = sum(r[c] is None for r in aligned)
        if missing:
            notes.append(f"{missing} images have no {c} tag in {path} and are left out")
        if several[c]:
            notes.append(f"{several[c]} rows of {path} have several {c} tags; the first one is used")
    known = {k for p in paths for k in _image_keys(p, Path(root) if root else None)}
    orphans = [k for k in rows if k not in known]
    if orphans:  # a row for an image that is gone (deleted, unreadable, or beyond data.max_images) is ignored
        notes.append(f"{len(orphans)} rows of {path} name no image among the {len(paths)} in use "
                     f"(first: {orphans[0]}) and are ignored")
    index = {c: {n: i for i, n in enumerate(names[c])} for c in categories}
    arrays = {c: np.array([index[c][r[c]] if r[c] is not None else -1 for r in aligned], np.int32) for c in categories}
    if not keep.any():
        raise UserError(f"no image has a tag for every one of {', '.join(categories)} in {path}")
    return Labels(arrays, names, keep if not keep.all() else None, str(path), notes)


# ----- i-CLEVR JSON ----------------------------------------------------------------------------------------------
def read_objects_json(path) -> list[str]:
    """The i-CLEVR vocabulary: objects.json maps name -> index; returns the names in index order."""
    try:
        mapping = json.loads(read_text(path))
    except json.JSONDecodeError as e:
        raise UserError(f"{path} is not valid JSON: {e}") from None
    if isinstance(mapping, list):
        return [str(x) for x in mapping]
    if not isinstance(mapping, dict) or not all(isinstance(v, int) for v in mapping.values()):
        raise UserError(f"{path} must map object names to indices, e.g. {{\"gray cube\": 0, \"red cube\": 1}}")
    names = sorted(mapping, key=lambda k: mapping[k])
    if sorted(mapping.values()) != list(range(len(names))):
        raise UserError(f"{path}: the object indices must be 0..{len(names) - 1} with no gaps")
    return names


def encode_label_sets(sets, vocab: list[str], where: str = "") -> np.ndarray:
    """[['red cube', 'blue sphere'], ...] -> float32 multi-hot [N, K]; unknown names are an error."""
    index = {n: i for i, n in enumerate(vocab)}
    out = np.zeros((len(sets), len(vocab)), np.float32)
    for i, objs in enumerate(sets):
        if isinstance(objs, str):
            objs = [objs]
        for o in objs:
            key = str(o).strip().lower()
            if key not in index:
                raise UserError(f"unknown label '{o}'{where}; known labels: {', '.join(vocab)}")
            out[i, index[key]] = 1.0
    return out


def labels_from_iclevr(json_path, paths: list[str], root, objects_path=None, name: str = "labels") -> Labels:
    json_path = Path(json_path)
    objects_path = Path(objects_path) if objects_path else json_path.parent / "objects.json"
    if not objects_path.is_file():
        raise UserError(f"{json_path} needs the vocabulary objects.json beside it (looked for {objects_path})")
    vocab = [v.lower() for v in read_objects_json(objects_path)]
    try:
        mapping = json.loads(read_text(json_path))
    except json.JSONDecodeError as e:
        raise UserError(f"{json_path} is not valid JSON: {e}") from None
    if not isinstance(mapping, dict):
        raise UserError(f"{json_path} must map file names to lists of objects, e.g. {{\"a.png\": [\"red cube\"]}}")
    aligned = _align(paths, Path(root) if root else None, mapping, str(json_path))
    return Labels({name: encode_label_sets(aligned, vocab, f" in {json_path}")}, {name: vocab}, None, str(json_path))


# ----- class sub-folders -----------------------------------------------------------------------------------------
def class_folder(path: str, root: Path) -> str | None:
    try:
        rel = Path(path).resolve().relative_to(root.resolve())
    except ValueError:
        return None
    return rel.parts[0] if len(rel.parts) > 1 else None


def has_class_folders(paths: list[str], root) -> bool:
    root = Path(root)
    classes = [class_folder(p, root) for p in paths]
    return all(c is not None for c in classes) and len(set(classes)) >= 2


def labels_from_folders(paths: list[str], root, name: str = "label", vocab: list[str] | None = None) -> Labels:
    root = Path(root)
    classes = [class_folder(p, root) for p in paths]
    if any(c is None for c in classes):
        first = paths[classes.index(None)]
        raise UserError(f"{first} is not inside a class sub-folder of {root}; put every image in ROOT/CLASS/")
    names = list(vocab) if vocab is not None else _sort_names(set(classes))
    index = {n: i for i, n in enumerate(names)}
    unknown = sorted(set(classes) - set(index))
    if unknown:
        raise UserError(f"unknown class folder '{unknown[0]}' in {root}; known classes: {', '.join(names)}")
    return Labels({name: np.array([index[c] for c in classes], np.int32)}, {name: names}, None, f"{root} (class folders)")


# ----- CelebA-style attribute table ------------------------------------------------------------------------------
@dataclass
class AttributeTable:
    header: list[str]  # attribute names
    rows: dict[str, list[float]]  # file or id -> 1.0 / 0.0 per attribute


def parse_attribute_table(path) -> AttributeTable:
    """A CelebA-style table (list_attr_celeba.txt, or a CSV with a header row) -> names and 0/1 rows."""
    text = read_text(path)
    lines = [ln for ln in text.splitlines() if ln.strip()]
    if not lines:
        raise UserError(f"{path} is empty")
    if "," in lines[0]:  # CSV with a header row: image_id,Attr1,Attr2,...
        rec = list(csv.reader(lines))
        header, body = [h.strip() for h in rec[0][1:]], rec[1:]
    else:  # list_attr_celeba.txt: optional count line, header of names, then 'file v1 v2 ...'
        if lines[0].strip().isdigit():
            lines = lines[1:]
        header = lines[0].split()
        body = [ln.split() for ln in lines[1:]]
        if body and len(body[0]) == len(header) + 1:
            pass
        elif body and len(body[0]) == len(header):  # header includes the file column
            header = header[1:]
    rows = {}
    for i, r in enumerate(body, start=2):
        if len(r) != len(header) + 1:
            raise UserError(f"{path}: row {i} has {len(r) - 1} values, the header names {len(header)} attributes")
        try:
            vals = [float(v) for v in r[1:]]
        except ValueError:
            raise UserError(f"{path}: row {i} has a value that is not a number (attributes are 1/-1 or 1/0)") from None
        rows[r[0].strip()] = [1.0 if v > 0 else 0.0 for v in vals]
    return AttributeTable(header, rows)


def labels_from_attribute_table(path, paths: list[str], root, name: str = "attributes") -> Labels:
    table = parse_attribute_table(path)
    aligned = _align(paths, Path(root) if root else None, table.rows, str(path))
    return Labels({name: np.array(aligned, np.float32)}, {name: table.header}, None, str(path))


def multi_hot(labels: Labels) -> tuple[np.ndarray, list[str]]:
    """All of a Labels' arrays as one multi-hot [N, K] table and its K label names, the vocabulary of a
    multi-label classifier: sigmoid sets keep their names (``red cube``, ``Smiling``); a single-choice array
    named CATEGORY gives one label per class, ``VALUE CATEGORY`` (``blonde hair``), or the class name alone
    for class folders (``label``)."""
    parts, names = [], []
    for key, arr in labels.arrays.items():
        classes = [str(c).lower() for c in labels.names[key]]
        arr = np.asarray(arr)
        if arr.ndim == 2:
            parts.append(arr.astype(np.float32))
            names += classes
        else:
            onehot = np.zeros((len(arr), len(classes)), np.float32)
            ok = arr >= 0  # -1: no tag for this category
            onehot[np.flatnonzero(ok), arr[ok]] = 1.0
            parts.append(onehot)
            names += classes if key == "label" else [f"{c} {key}" for c in classes]
    return np.concatenate(parts, axis=1), names


# ----- auto-detection --------------------------------------------------------------------------------------------
def find_label_file(root) -> Path | None:
    """A labels file in the data folder: tags.csv, train.json (+objects.json), list_attr_celeba.txt/attributes.csv."""
    root = Path(root)
    if not root.is_dir():
        return None
    for name in ("tags.csv", "tags_clean.csv", "labels.csv", "train.json", "labels.json", "list_attr_celeba.txt",
                 "list_attr_celeba.csv", "attributes.csv"):
        if (root / name).is_file():
            return root / name
    return None


def kind_of(path: Path) -> str:
    """tags | iclevr | attributes, from the file's name and first line."""
    if path.suffix.lower() == ".json":
        return "iclevr"
    if "attr" in path.name.lower() or path.suffix.lower() == ".txt":
        return "attributes"
    first = next((ln for ln in read_text(path).splitlines() if ln.strip()), "")
    return "attributes" if first.count(",") >= 2 else "tags"


def load_labels(paths: list[str], root, labels_file=None, categories=(), vocab=None, ignore_tags=()) -> Labels:
    """Labels for images under root: the given labels file, one found in root, or class sub-folders.

    categories: the softmax condition names a tags CSV is read with (e.g. hair, eyes); vocab: name -> class names
    fixed by the config (None entries = infer); ignore_tags: tags a tags CSV's rows drop (data.ignore_tags)."""
    vocab = vocab or {}
    path = Path(labels_file) if labels_file else find_label_file(root)
    if path is None:
        if root is not None and has_class_folders(paths, root):
            name = categories[0] if len(categories) == 1 else "label"
            return labels_from_folders(paths, root, name, vocab.get(name))
        raise UserError(
            f"no labels found for {root}: put a tags.csv (id,blonde hair blue eyes), an i-CLEVR train.json + "
            "objects.json or a list_attr_celeba.txt in the folder, use class sub-folders, or set data.labels=FILE"
        )
    kind = kind_of(path)
    if kind == "iclevr":
        return labels_from_iclevr(path, paths, root)
    if kind == "attributes":
        return labels_from_attribute_table(path, paths, root)
    if not categories:
        raise UserError(f"{path} is a tags CSV; declare its categories as conditional.heads (e.g. hair, eyes)")
    return labels_from_tags_csv(path, paths, root, list(categories), vocab, ignore_tags)


def warn_notes(labels: Labels):
    for n in labels.notes:
        warnings.warn(n, stacklevel=3)

