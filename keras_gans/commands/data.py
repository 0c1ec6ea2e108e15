"""`python cli.py data make faces|shapes|digits|mnist --out DIR [--n N] [--size S]`: write a built-in data set as
an image folder in the formats `--data` reads (faces: images/ + tags.csv; shapes: images/ + train.json +
objects.json; digits, mnist: one sub-folder per class, the layout `train-classifier` reads), so it can be
inspected, edited, or used like any user data set (the tests use `digits` as an offline image folder)."""

from __future__ import annotations

import json
from pathlib import Path

import click

from keras_gans.core.errors import UserError

MAKERS = ("faces", "shapes")
CLASS_FOLDER_SETS = ("digits", "mnist")  # labelled built-ins written as OUT/CLASS/NNNN.png


@click.group()
def data():
    """Data set utilities."""


@data.command()
@click.argument("dataset", type=click.Choice(MAKERS + CLASS_FOLDER_SETS))
@click.option("--out", required=True, type=click.Path(file_okay=False), help="Folder to write (images/ + labels).")
@click.option("--n", type=click.IntRange(1, 1_000_000), help="Number of images (default: the built-in size).")
@click.option("--size", type=click.IntRange(8, 1024), help="Image size in pixels (default: 64; digits 32, mnist 28).")
@click.option("--seed", type=int, default=0, show_default=True)
def make(dataset, out, n, size, seed):
    """Write DATASET to OUT (faces: hair x eye colours; shapes: i-CLEVR-style objects; digits, mnist: class folders)."""
    from keras_gans.data import procedural
    from keras_gans.core.io_utils import atomic_write_text, progbar, save_image

    out = Path(out)
    if dataset in CLASS_FOLDER_SETS:
        n_written = write_class_folders(dataset, out, size, n)
        click.echo(f"wrote {n_written} {dataset} images to {out} (one sub-folder per class)")
        return
    size = size or 64
    if (out / "images").exists() and any((out / "images").iterdir()):
        raise UserError(f"{out / 'images'} already holds files; choose an empty --out folder")
    kwargs = {"n": n} if n else {}
    loader = procedural.load_faces if dataset == "faces" else procedural.load_shapes
    s = loader(size=size, channels=3, seed=seed, **kwargs)
    (out / "images").mkdir(parents=True, exist_ok=True)
    bar = progbar(len(s), "image")  # plain lines when stdout is a log
    names = []
    for i, img in enumerate(s.images):
        name = f"{i:05d}.png"
        save_image(out / "images" / name, img, fsync=False)  # checked writes: a full disk leaves no torn file
        names.append(name)
        if (i + 1) % 200 == 0 or i + 1 == len(s):
            bar.update(i + 1)
    if dataset == "faces":
        hair, eyes = s.label_names["hair"], s.label_names["eyes"]
        lines = [f"{i:05d},{hair[h]} hair {eyes[e]} eyes" for i, (h, e) in enumerate(zip(s.labels["hair"], s.labels["eyes"]))]
        atomic_write_text(out / "tags.csv", "\n".join(lines) + "\n")
        labels_file = "tags.csv"
    else:
        vocab = s.label_names["labels"]
        atomic_write_text(out / "objects.json", json.dumps({v: i for i, v in enumerate(vocab)}))
        mapping = {nm: [vocab[j] for j in row.nonzero()[0]] for nm, row in zip(names, s.labels["labels"])}
        atomic_write_text(out / "train.json", json.dumps(mapping, indent=0))
        labels_file = "train.json + objects.json"
    click.echo(f"wrote {len(s)} {dataset} images ({size} px) to {out / 'images'} and labels to {out} ({labels_file})")



def write_class_folders(dataset: str, out, size: int | None = None, n: int | None = None) -> int:
    """The built-in labelled set as OUT/CLASS/NNNN.png (for digits, the same images as the UCI digits folder that
    scikit-learn's copy upsampled to 32 px gives); returns the number of images written."""
    from keras_gans.data.builtin import load_builtin
    from keras_gans.core.io_utils import save_image

    out = Path(out)
    if out.exists() and any(out.iterdir()):
        raise UserError(f"{out} already holds files; choose an empty --out folder")
    s = load_builtin(dataset, size or (32 if dataset == "digits" else 28), 1)
    images, labels = s.images[:n] if n else s.images, s.labels["label"][:n] if n else s.labels["label"]
    for i, (img, y) in enumerate(zip(images, labels)):
        folder = out / str(int(y))
        folder.mkdir(parents=True, exist_ok=True)
        save_image(folder / f"{i:04d}.png", img[..., 0], fsync=False)
    return len(images)


COMMANDS = (data,)  # registered by keras_gans.cli
