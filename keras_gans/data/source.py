"""The one data entry point: a config in, the arrays a family trains on out.

Every file a run reads goes through here: image folders, MNIST IDX files and the built-in sets
(`load_image_set`), their labels for conditional models (`load_labelled`), two unpaired domains for the
image translators (`load_domains`), the VAE's fixed hold-out split (`holdout_split`, `holdout_images`), the real images
evaluation compares with (`reference_images`) and the sets `train-classifier` learns from (`load_class_folders`,
`load_multilabel`). A family declares which kind it trains on (its `data_kind`:
"images", "labelled" or "domains") and, where the data section alone does not say enough, its `data_options`
(e.g. `DomainOptions`); `load_training_data` hands it that. The family then only maps the arrays onto its inputs
(`prepare_data`), and never opens a file. This layer names no family: what a family needs arrives as values.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from keras_gans.data.images import ImageSet, find_images, load_images
from keras_gans.core.errors import UserError

DATA_KINDS = ("images", "labelled", "domains")


def load_training_data(cfg: dict, kind: str = "images", progress: bool = True, options=None):
    """What a family with data_kind `kind` trains on: an ImageSet ("images"), an ImageSet whose labels are read
    and whose unlabelled images are dropped ("labelled"), or two unpaired Domains ("domains", loaded as the
    family's `options`, a DomainOptions, say)."""
    if kind == "images":
        return load_image_set(cfg, progress)
    if kind == "labelled":
        return load_labelled(cfg, progress)
    if kind == "domains":
        return load_domains(cfg, progress, options)
    raise UserError(f"unknown data kind {kind!r}; known: {', '.join(DATA_KINDS)}")


# ----- images -----------------------------------------------------------------------------------------------------
def load_image_set(cfg: dict, progress: bool = True) -> ImageSet:
    """The images a run trains on: cfg data.path (any image folder or MNIST IDX file) or the named built-in set."""
    from keras_gans.data import idx
    from keras_gans.data.builtin import load_builtin

    d = cfg["data"]
    if idx.is_idx(d["path"]):  # MNIST's IDX files (labels read from the file beside)
        return idx.load_idx(d["path"], d["image_size"], d["channels"], d["max_images"], d.get("resize", "crop"))
    if d["path"]:
        paths = find_images(d["path"])
        if d["max_images"]:
            paths = paths[: int(d["max_images"])]
        return load_images(
            paths, d["image_size"], d["channels"], d["on_bad_file"], cache_dir=d["cache_dir"], progress=progress,
            resize=d.get("resize", "crop"),
        )
    image_set = load_builtin(d["builtin"], d["image_size"], d["channels"], seed=cfg["train"]["seed"])
    if d["max_images"]:
        image_set.images = image_set.images[: int(d["max_images"])]
        image_set.paths = image_set.paths[: int(d["max_images"])]
        image_set.labels = {k: v[: int(d["max_images"])] for k, v in image_set.labels.items()}
    return image_set


def load_folder(path, size: int, channels: int | None, on_bad_file: str = "skip", progress: bool = True) -> ImageSet:
    """Every image under a folder (recursively, sorted), at a run's size and channels."""
    return load_images(find_images(path), size, channels, on_bad_file, progress=progress)


# ----- labels -----------------------------------------------------------------------------------------------------
def load_labelled(cfg: dict, progress: bool = True) -> ImageSet:
    """The image set with its labels: the built-in set's or the IDX file's own, else data.labels or the labels
    found in the folder (read with the conditional.heads' categories and vocabularies). Images without labels
    are dropped; `label_names` maps each label to its class names and `label_source` says where they came from."""
    from keras_gans.parts import conditioning
    from keras_gans.data import labels as label_io

    image_set = load_image_set(cfg, progress)
    d = cfg["data"]
    names = dict(getattr(image_set, "label_names", {}) or {})
    where = "the built-in data"
    if (d["path"] and not image_set.labels) or d["labels"]:  # (MNIST IDX files bring their own labels)
        specs = conditioning.head_specs(cfg)
        root = Path(d["path"]) if d["path"] else None
        if root is not None and root.is_file():
            root = root.parent
        softmax = [s["source"] or s["name"] for s in specs if s["type"] == "softmax"]
        vocab = {s["source"] or s["name"]: s["classes"] if isinstance(s["classes"], list) else None for s in specs}
        lab = label_io.load_labels(image_set.paths, root, d["labels"], softmax, vocab, d.get("ignore_tags") or ())
        label_io.warn_notes(lab)
        image_set.labels, names, where = dict(lab.arrays), dict(lab.names), lab.source
        if lab.keep is not None:
            keep = np.asarray(lab.keep)
            image_set.images = image_set.images[keep]
            image_set.paths = [p for p, k in zip(image_set.paths, keep) if k]
            image_set.labels = {k: np.asarray(v)[keep] for k, v in image_set.labels.items()}
    image_set.label_names = names
    image_set.label_source = where
    return image_set


# ----- classifier training sets (train-classifier) ----------------------------------------------------------------
def load_class_folders(root: str | Path, image_size: int, channels: int | None = None, max_per_class: int | None = None):
    """(images uint8 [n, S, S, C], labels int32 [n], class names) from ROOT/CLASS/**/image files."""
    from keras_gans.data import idx

    if idx.is_idx(root):  # MNIST IDX images + the labels file beside them
        s = idx.load_idx(root, image_size, channels)
        if "label" not in s.labels:
            raise UserError(f"{root} has no labels file beside it (looked for {Path(root).name.replace('images', 'labels').replace('idx3', 'idx1')})")
        y, classes = s.labels["label"], s.label_names["label"]
        if max_per_class:
            keep = np.sort(np.concatenate([np.flatnonzero(y == c)[: int(max_per_class)] for c in np.unique(y)]))
            return s.images[keep], y[keep], classes
        return s.images, y, classes
    root = Path(root)
    if not root.is_dir():
        raise UserError(f"data folder not found: {root} (pass a folder with one sub-folder of images per class)")
    classes = sorted(d.name for d in root.iterdir() if d.is_dir() and not d.name.startswith("."))
    if len(classes) < 2:
        raise UserError(f"{root} must hold one sub-folder of images per class (at least 2); found {len(classes)}")
    paths, labels = [], {}
    for i, c in enumerate(classes):
        found = find_images(root / c)
        if max_per_class:
            found = found[: int(max_per_class)]
        paths += found
        labels.update({p: i for p in found})
    image_set = load_images(paths, image_size, channels, progress=True)
    y = np.array([labels[p] for p in image_set.paths], dtype=np.int32)
    return image_set.images, y, classes


def load_multilabel(root, image_size: int, channels: int | None = None, labels_file=None, categories=(),
                    ignore_tags=(), max_images: int | None = None):
    """(images uint8 [n, S, S, C], multi-hot float32 [n, K], label names) from an image folder (or MNIST IDX file)
    and its labels: a labels file given or found in the folder, or class sub-folders."""
    from keras_gans.data import idx
    from keras_gans.data import labels as label_io

    if idx.is_idx(root):
        s = idx.load_idx(root, image_size, channels, max_images=max_images)
        lab = label_io.Labels(dict(s.labels), dict(s.label_names))
        targets, names = label_io.multi_hot(lab)
        return s.images, targets, names
    root = Path(root)
    paths = find_images(root)
    if max_images:
        paths = paths[: int(max_images)]
    image_set = load_images(paths, image_size, channels, progress=True)
    lab = label_io.load_labels(image_set.paths, root, labels_file, list(categories), None, ignore_tags)
    label_io.warn_notes(lab)
    targets, names = label_io.multi_hot(lab)
    images = image_set.images
    if lab.keep is not None:
        images, targets = images[lab.keep], targets[lab.keep]
    return images, targets, names


# ----- domains (image translators) ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class DomainOptions:
    """How a two-domain family wants its domains loaded (its `data_options(cfg)`, read from its own section)."""

    load_size: int | None = None  # stored with this shorter side (random data.image_size crops are cut in training)
    n_test: int = 4  # test images per domain for the sample grids
    photo_domain: str = "A"  # the side that holds the photos (A | B); the built-in photos go there
    style_margin: float = 0.0  # fraction of each side of the style images left out (a print's paper margin)
    per_domain: int = 400  # images per domain of a built-in two-domain set


@dataclass
class Domains:
    """Two unpaired image domains (uint8 arrays) and a few test images of each for the sample grids."""

    a: np.ndarray
    b: np.ndarray
    test_a: np.ndarray
    test_b: np.ndarray
    source: str

    def __len__(self):
        return min(len(self.a), len(self.b))


def load_domains(cfg: dict, progress: bool = True, options: DomainOptions | None = None) -> Domains:
    """data.path = a folder in the two-domain layout (trainA/ trainB/, optional testA/ testB/), or the built-in set
    data.builtin (labelled by 'domain', e.g. `scenes`); loaded as `options` say (the family's data_options)."""
    d, o = cfg["data"], options or DomainOptions()
    size, channels, k = d["image_size"], d["channels"] or 3, int(o.n_test)
    store = int(o.load_size or size)  # stored larger, cropped to image_size each step
    limit = int(d["max_images"]) if d["max_images"] else None
    if d["path"]:
        root = Path(d["path"])
        if not root.is_dir():
            raise UserError(f"data folder not found: {root} (pass a folder with trainA/ and trainB/ via --data)")
        missing = [s for s in ("trainA", "trainB") if not (root / s).is_dir()]
        if missing:
            raise UserError(
                f"{root} has no {' or '.join(missing)}/: model {cfg['model']} expects the two-domain layout "
                "trainA/ trainB/ (and optionally testA/ testB/), e.g. the unpacked ukiyoe2photo.zip"
            )

        # style_margin: the style side (not the photos) is stored as its interior, so no crop can hold a paper
        # margin or frame
        style_side = "B" if o.photo_domain == "A" else "A"

        def load(sub, n):
            paths = find_images(root / sub)[:n] if n else find_images(root / sub)
            margin = float(o.style_margin or 0.0) if sub.endswith(style_side) else 0.0
            return load_images(paths, store, channels, d["on_bad_file"], cache_dir=d["cache_dir"], progress=progress,
                               margin=margin).images

        a, b = load("trainA", limit), load("trainB", limit)
        test_a = load("testA", k) if (root / "testA").is_dir() else a[-k:]
        test_b = load("testB", k) if (root / "testB").is_dir() else b[-k:]
        return Domains(a, b, test_a[:k], test_b[:k], str(root))

    from keras_gans.data.builtin import load_builtin

    seed = int(cfg["train"]["seed"])
    n = int(o.per_domain)
    train_set = load_builtin(d["builtin"], store, channels, seed=seed, n=n)
    if "domain" not in train_set.labels:
        raise UserError(
            f"model {cfg['model']} needs two image domains, but the built-in set '{d['builtin']}' has one; use "
            "data.builtin=scenes or pass --data DIR with trainA/ and trainB/"
        )
    test_set = load_builtin(d["builtin"], store, channels, seed=seed + 100_003, n=k)
    dom, tdom = train_set.labels["domain"], test_set.labels["domain"]
    if o.photo_domain == "B":  # the built-in "photos" go on the side the config names as the photo side
        dom, tdom = 1 - dom, 1 - tdom
    a, b = train_set.images[dom == 0], train_set.images[dom == 1]
    if limit:
        a, b = a[:limit], b[:limit]
    return Domains(a, b, test_set.images[tdom == 0][:k], test_set.images[tdom == 1][:k], f"builtin:{d['builtin']}")


# ----- hold-out split (VAE) ---------------------------------------------------------------------------------------
def holdout_split(n: int, holdout, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """(train indices, held-out indices), a fixed random split by seed; holdout is a fraction < 1 or a count."""
    k = int(round(holdout * n)) if isinstance(holdout, float) else int(holdout)
    k = max(0, min(k, n - 1))
    perm = np.random.default_rng([int(seed) & 0x7FFFFFFF, 4242]).permutation(n)
    return np.sort(perm[k:]), np.sort(perm[:k])


def holdout_info(cfg: dict, image_set: ImageSet, holdout) -> tuple[np.ndarray, dict]:
    """(train indices, the data_info entries that name the held-out images: their indices, and their absolute
    paths for an image folder, so `holdout_images` reads only those files later)."""
    train_idx, hold_idx = holdout_split(len(image_set), holdout, cfg["train"]["seed"])
    info = {"holdout_indices": [int(i) for i in hold_idx]}
    if cfg["data"]["path"]:
        info["holdout_paths"] = [os.path.abspath(image_set.paths[i]) for i in hold_idx]
    return train_idx, info


def holdout_images(cfg: dict, data_info: dict, image_shape) -> np.ndarray:
    """The held-out uint8 images a run recorded in its data_info (only those files for an image folder)."""
    size, channels = int(image_shape[0]), int(image_shape[-1])
    if data_info.get("holdout_paths"):
        return load_images(data_info["holdout_paths"], size, channels, cfg["data"]["on_bad_file"], cache_dir=False).images
    if data_info.get("holdout_indices"):
        cfg = json.loads(json.dumps(cfg))
        cfg["data"]["channels"] = channels
        return load_image_set(cfg, progress=False).images[np.asarray(data_info["holdout_indices"])]
    return np.zeros((0, *image_shape), np.uint8)


# ----- reference images (evaluation) ------------------------------------------------------------------------------
def reference_images(data, image_size: int, channels: int | None, n: int, seed: int = 0,
                     progress: bool = True) -> np.ndarray:
    """Up to n real images of `data` (a folder or an MNIST IDX file; a fixed random subset by seed when there are
    more), at a run's size and channels: what FID & co. compare generated images with."""
    from keras_gans.data import idx

    if idx.is_idx(data):  # MNIST IDX files
        return subset(idx.load_idx(data, image_size, channels).images, n, seed)
    paths = find_images(data)
    if len(paths) > n:
        paths = [paths[i] for i in subset_indices(len(paths), n, seed)]
    return load_images(paths, image_size, channels, progress=progress).images


def training_reference_images(cfg: dict, n: int, seed: int = 0) -> np.ndarray:
    """Up to n of the run's own training images (a fixed random subset by seed)."""
    return subset(load_image_set(cfg, progress=False).images, n, seed)


def subset_indices(total: int, n: int, seed: int) -> np.ndarray:
    """n sorted indices of range(total) drawn without replacement by seed (all of them when n >= total)."""
    if total <= n:
        return np.arange(total)
    return np.sort(np.random.default_rng(seed).choice(total, n, replace=False))


def subset(images: np.ndarray, n: int, seed: int) -> np.ndarray:
    return images if len(images) <= n else images[subset_indices(len(images), n, seed)]
