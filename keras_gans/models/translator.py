"""What every image-to-image family (capability TRANSLATOR, models/capabilities.py) shares, written once: the
direction names, which direction goes photo -> style, `transfer` at the working size, and the export's translator
signatures. `transfer` and `demo` reach a translator only through these, so a new translator family (the
template translator, CycleGAN, CUT, ...) is served by both without either naming it.

A family mixes `Translator` in before GenerativeModel and supplies:

- `translator_directions`: the directions it can run, a subset of DIRECTIONS ("a2b": domain A -> B);
- `generator_for(direction)`: the Keras net that runs that direction (images in [-1, 1] -> [-1, 1], any size);
- `self.work_size`: the shorter side G runs at (the scale it saw its photos at in training);
- `photo_domain(cfg)` (classmethod): which side holds the photos, "A" or "B", read from its own config section.
"""

from __future__ import annotations

import base64
import io
import json

import numpy as np

from keras_gans.core.errors import UserError
from keras_gans.models.signatures import add_json_signature, add_translator_signatures
from keras_gans.parts.translate import transfer_images

DIRECTIONS = ("a2b", "b2a")


def style_directions(photo_domain: str) -> dict:
    """{'photo2style': 'a2b' | 'b2a', 'style2photo': the other} for the side that holds the photos."""
    to_style = "a2b" if str(photo_domain).upper() == "A" else "b2a"
    return {"photo_domain": str(photo_domain).upper(), "photo2style": to_style,
            "style2photo": "b2a" if to_style == "a2b" else "a2b"}


def encode_samples(images: np.ndarray) -> list[str]:
    """uint8 images -> base64 PNG strings: test images kept in data_info.json for the sample grids."""
    from keras_gans.core.images import encode_png

    return [base64.b64encode(encode_png(im)).decode("ascii") for im in images]


def decode_samples(items: list[str], channels: int) -> np.ndarray:
    from PIL import Image

    arrays = []
    for s in items:
        a = np.asarray(Image.open(io.BytesIO(base64.b64decode(s))))
        arrays.append(a[..., None] if a.ndim == 2 else a[..., :channels])
    return np.stack(arrays).astype(np.uint8)


def check_direction(direction: str, available=DIRECTIONS) -> str:
    if direction not in available:
        raise UserError(f"direction must be {' or '.join(available)} for this model, got {direction!r}")
    return direction


class Translator:
    """Mixin of the TRANSLATOR families (see the module docstring for what a family supplies)."""

    translator_directions: tuple[str, ...] = DIRECTIONS
    # small ops at small batches, in branches that do not wait for each other (two G, two D; the PatchNCE heads):
    # independent ops side by side beat one op on every CPU (docs/speed.md, "CycleGAN step")
    thread_layout = "ops"

    @classmethod
    def photo_domain(cls, cfg: dict) -> str:
        """Which folder side (A | B) holds the photos: `transfer` runs photo -> style by default."""
        return "A"

    def direction_meta(self) -> dict:
        """{photo_domain, photo2style, style2photo}: what the export's `directions` signature says."""
        return style_directions(self.photo_domain(self.cfg))

    def generator_for(self, direction: str):
        raise NotImplementedError

    def transfer(self, images_u8, direction: str = "a2b", work_size: int | None = None) -> np.ndarray:
        """uint8 images [B, H, W, C] of any size -> translated uint8 images of the same size (as the export), G run
        at the working size (shorter side = the family's work_size, or the given one)."""
        g = self.generator_for(check_direction(direction, self.translator_directions))
        return transfer_images(g, images_u8, int(work_size or self.work_size)).numpy()

    def add_translator_exports(self, archive, directions=None):
        """The translator signatures of every direction given (default: all the family runs) -- `a2b`, `a2b_bytes`,
        ..., photo -> style also as `serving_default` -- and `directions` (JSON: which side is the photo)."""
        size, ch = int(self.work_size), int(self.image_shape[-1])
        meta = self.direction_meta()
        for direction in directions or self.translator_directions:
            add_translator_signatures(archive, self.generator_for(direction), direction, size, ch,
                                      default=direction == meta["photo2style"])
        add_json_signature(archive, "directions", json.dumps({**meta, "image_size": int(self.image_shape[0]),
                                                              "work_size": size, "name": self.cfg["name"]}))
