"""Procedural, labelled data sets that need no download: conditional models train offline on a fresh machine,
and conditional accuracy can be measured exactly because every label is known.

- `faces`: simple drawn anime-like faces (background, long or short hair, bangs, face, two big eyes, mouth) with
  12 hair colours x 11 eye colours (the anime-faces vocabularies), face position/size, hair length and background
  varied. Labels {'hair': int32, 'eyes': int32}; combinations cycle, so any prefix is balanced.
- `shapes`: i-CLEVR-like scenes of 1-3 distinct objects (8 colours x 3 shapes: cube, sphere, cylinder) on a grey
  floor. Labels {'labels': float32 multi-hot [N, 24]} in the i-CLEVR objects.json order.

Image i depends only on (seed, i): deterministic, and the same whatever n is. Drawn at 128 px with Pillow and
resized (antialiased) to the requested size.
"""

from __future__ import annotations

import numpy as np
from PIL import Image, ImageDraw

from keras_gans.data.images import ImageSet

HAIR_COLOURS = {
    "aqua": (20, 205, 205), "black": (28, 28, 34), "blonde": (250, 222, 110), "blue": (35, 75, 225),
    "brown": (118, 68, 28), "gray": (150, 150, 155), "green": (35, 165, 55), "orange": (250, 135, 25),
    "pink": (250, 145, 200), "purple": (135, 55, 190), "red": (210, 25, 35), "white": (246, 246, 246),
}
EYE_COLOURS = {
    "aqua": (20, 200, 200), "black": (20, 20, 24), "blue": (30, 70, 230), "brown": (115, 65, 25),
    "gray": (140, 140, 145), "green": (30, 170, 50), "orange": (250, 130, 20), "pink": (250, 130, 195),
    "purple": (135, 45, 195), "red": (215, 20, 30), "yellow": (245, 215, 25),
}
HAIR_NAMES = list(HAIR_COLOURS)  # sorted, the order a tags CSV's classes get when inferred
EYE_NAMES = list(EYE_COLOURS)

OBJECT_COLOURS = {
    "gray": (128, 128, 128), "red": (200, 35, 35), "blue": (40, 70, 215), "green": (40, 160, 60),
    "brown": (130, 82, 38), "purple": (130, 48, 170), "cyan": (35, 200, 210), "yellow": (230, 210, 35),
}
SHAPES = ("cube", "sphere", "cylinder")
OBJECT_NAMES = [f"{c} {s}" for s in SHAPES for c in OBJECT_COLOURS]  # i-CLEVR objects.json order

CANVAS = 128


def _shade(rgb, f):
    return tuple(int(max(0, min(255, round(c * f)))) for c in rgb)


def to_array(img: Image.Image, size: int, channels: int | None) -> np.ndarray:
    """A drawn canvas as the uint8 array the data sets hold: resized to `size` (Lanczos), grey or RGB."""
    if size != CANVAS:
        img = img.resize((size, size), Image.Resampling.LANCZOS)
    if channels == 1:
        return np.asarray(img.convert("L"), np.uint8)[..., None]
    return np.asarray(img.convert("RGB"), np.uint8)


def draw_face(hair: int, eyes: int, rng: np.random.Generator) -> Image.Image:
    hc, ec = HAIR_COLOURS[HAIR_NAMES[hair]], EYE_COLOURS[EYE_NAMES[eyes]]
    bg = tuple(int(v) for v in rng.integers(150, 236, 3))
    img = Image.new("RGB", (CANVAS, CANVAS), bg)
    d = ImageDraw.Draw(img)
    cx, cy = 64 + rng.integers(-7, 8), 70 + rng.integers(-5, 6)
    r = int(rng.integers(30, 39))
    length = int(rng.integers(0, 40))  # hair length below the chin
    dark = _shade(hc, 0.7)
    # back hair
    d.ellipse((cx - r - 10, cy - r - 16, cx + r + 10, cy + r + length), fill=hc, outline=dark, width=2)
    if length > 12:
        d.rectangle((cx - r - 10, cy, cx + r + 10, min(CANVAS, cy + r + length)), fill=hc)
    # face and neck
    skin = (255, 226, 204) if rng.random() < 0.8 else (240, 200, 170)
    d.rectangle((cx - r // 4, cy + r - 4, cx + r // 4, cy + r + 14), fill=_shade(skin, 0.93))
    d.ellipse((cx - r, cy - r, cx + r, cy + int(r * 1.08)), fill=skin)
    # bangs: the upper part of a hair ellipse plus a few locks
    top = cy - r - 14
    d.chord((cx - r - 6, top, cx + r + 6, cy + int(r * 0.45)), 180, 360, fill=hc, outline=dark)
    n_locks = int(rng.integers(3, 6))
    for k in range(n_locks):
        x0 = cx - r + 4 + (2 * r - 8) * k / max(1, n_locks - 1)
        tip = cy - int(r * 0.15) + int(rng.integers(-4, 8))
        d.polygon([(x0 - 9, cy - r * 0.35), (x0 + 9, cy - r * 0.35), (x0 + rng.integers(-4, 5), tip)], fill=hc)
    # eyes: white, big coloured iris, dark pupil, highlight
    ey = cy + int(r * 0.2)
    ew, eh = int(r * 0.3), int(r * 0.38)
    for side in (-1, 1):
        ex = cx + side * int(r * 0.42)
        d.ellipse((ex - ew, ey - eh, ex + ew, ey + eh), fill=(255, 255, 255), outline=(40, 30, 30), width=2)
        d.ellipse((ex - ew + 2, ey - eh + 4, ex + ew - 2, ey + eh), fill=ec)
        d.ellipse((ex - ew // 3, ey - eh // 5, ex + ew // 3, ey + eh // 2), fill=_shade(ec, 0.45))
        d.ellipse((ex - ew // 2, ey - eh // 2, ex - ew // 2 + 5, ey - eh // 2 + 5), fill=(255, 255, 255))
        d.line((ex - ew - 2, ey - eh - 5, ex + ew + 2, ey - eh - 7 + side), fill=dark, width=2)  # brow
    # mouth
    my = cy + int(r * 0.72)
    w = int(rng.integers(4, 9))
    d.arc((cx - w, my - 4, cx + w, my + 4), 20, 160, fill=(150, 50, 60), width=2)
    return img


def load_faces(size: int = 64, channels: int | None = None, seed: int = 0, n: int = 2640, **_) -> ImageSet:
    """n drawn faces; image i has hair i % 12 and eyes (i // 12) % 11, so every 132 images cover every pair."""
    hair = np.arange(n) % len(HAIR_NAMES)
    eyes = (np.arange(n) // len(HAIR_NAMES)) % len(EYE_NAMES)
    images = np.stack([
        to_array(draw_face(int(h), int(e), np.random.default_rng([int(seed) & 0x7FFFFFFF, 101, i])), size, channels)
        for i, (h, e) in enumerate(zip(hair, eyes))
    ])
    paths = [f"procedural-faces/{i:05d}.png" for i in range(n)]
    s = ImageSet(images, paths, labels={"hair": hair.astype(np.int32), "eyes": eyes.astype(np.int32)})
    s.label_names = {"hair": list(HAIR_NAMES), "eyes": list(EYE_NAMES)}
    return s


def _draw_object(d: ImageDraw.ImageDraw, shape: str, rgb, x: int, y: int, s: int):
    """An object standing at floor point (x, y) with size s."""
    light, dark = _shade(rgb, 1.3), _shade(rgb, 0.65)
    if shape == "cube":
        h = s // 3
        d.polygon([(x - s // 2, y - s), (x + s // 2, y - s), (x + s // 2 + h, y - s - h), (x - s // 2 + h, y - s - h)],
                  fill=light)
        d.polygon([(x + s // 2, y), (x + s // 2 + h, y - h), (x + s // 2 + h, y - s - h), (x + s // 2, y - s)], fill=dark)
        d.rectangle((x - s // 2, y - s, x + s // 2, y), fill=rgb)
    elif shape == "sphere":
        d.ellipse((x - s // 2, y - s, x + s // 2, y), fill=rgb)
        d.ellipse((x - s // 4, y - s + s // 8, x - s // 4 + s // 4, y - s + s // 8 + s // 4), fill=light)
    else:  # cylinder
        e = s // 4
        d.ellipse((x - s // 2, y - e, x + s // 2, y + e // 2), fill=dark)
        d.rectangle((x - s // 2, y - s, x + s // 2, y - e // 4), fill=rgb)
        d.ellipse((x - s // 2, y - s - e // 2, x + s // 2, y - s + e), fill=light)


def draw_scene(objects: list[int], rng: np.random.Generator) -> Image.Image:
    g = int(rng.integers(175, 215))
    img = Image.new("RGB", (CANVAS, CANVAS), (g, g, g + 4))
    d = ImageDraw.Draw(img)
    d.rectangle((0, 50, CANVAS, CANVAS), fill=(g - 25, g - 25, g - 22))  # floor
    cells = rng.permutation(6)[: len(objects)]
    placed = []
    for obj, cell in zip(objects, cells):
        col, row = cell % 3, cell // 3
        x = 24 + col * 40 + int(rng.integers(-5, 6))
        y = 78 + row * 34 + int(rng.integers(-4, 5))
        placed.append((y, obj, x))
    for y, obj, x in sorted(placed):  # far objects first
        shape, colour = SHAPES[obj // 8], list(OBJECT_COLOURS)[obj % 8]
        _draw_object(d, shape, OBJECT_COLOURS[colour], x, y, int(rng.integers(22, 30)))
    return img


def load_shapes(size: int = 64, channels: int | None = None, seed: int = 0, n: int = 3000, **_) -> ImageSet:
    """n scenes of 1-3 distinct objects; labels are multi-hot over the 24 i-CLEVR objects."""
    images, labels = [], np.zeros((n, len(OBJECT_NAMES)), np.float32)
    for i in range(n):
        rng = np.random.default_rng([int(seed) & 0x7FFFFFFF, 202, i])
        k = 1 + i % 3
        objs = [int(o) for o in rng.choice(len(OBJECT_NAMES), size=k, replace=False)]
        labels[i, objs] = 1.0
        images.append(to_array(draw_scene(objs, rng), size, channels))
    paths = [f"procedural-shapes/{i:05d}.png" for i in range(n)]
    s = ImageSet(np.stack(images), paths, labels={"labels": labels})
    s.label_names = {"labels": list(OBJECT_NAMES)}
    return s
