"""The demo's logic without Gradio: find the export, read its signatures and conditions, and turn a page request
(seed, grid size, condition choices, an uploaded photo) into arrays through the export's own signatures.

The page loads the export in process and calls its signatures with tensors (no JSON, no HTTP): the signatures a
TF Serving client names, `generate` (seed [+ conditions]) for grids, `serving_default` (z [+ conditions]) for
interpolation, `a2b_bytes` / `b2a_bytes` (PNG bytes) for image translators. The kind of page comes from the
signatures (models/capabilities.py's capability names), never from a family's name. So the page is also a check of the export. Latent seeds follow `sample`: image i of seed S uses S*100000+i, so a
grid here equals `python cli.py sample EXPORT --seed S --n N`.
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np

from keras_gans.core.errors import UserError
from keras_gans.core.seeds import latent_seeds

from keras_gans.models.capabilities import CONDITIONAL, LATENT, TRANSLATOR

MIXED = "mixed"  # softmax choice: balanced over the classes (image i gets class i % K), as `sample` does
NO_VARY = "none"
MAX_IMAGES = 256  # per grid (rows x columns); keeps one request to a second or two on a CPU
MAX_COLUMNS = 64
MAX_STEPS = 64
MAX_SEED = 2**40  # seeds are int64 and multiplied by 100000 (sample's rule); stay far from overflow


# ----- finding the export ------------------------------------------------------------------------------------------
def resolve_export(path: str | Path) -> Path:
    """The SavedModel folder to serve for EXPORT_OR_RUN (keras_gans.export.savedmodel.find_export: a version folder, an
    export base's highest version, or a run's own export)."""
    from keras_gans.export.savedmodel import find_export

    return find_export(path)


# ----- the export, as plain callables -------------------------------------------------------------------------------
@dataclass
class DemoModel:
    """What the page needs from an export. Built by load_model() from a SavedModel; tests may build one from numpy
    functions. Every callable takes and returns numpy arrays."""

    kind: str  # the capability the page serves: latent | conditional | translator
    name: str = "model"
    metas: list[dict] = field(default_factory=list)  # conditions: {name, type softmax|sigmoid, classes}
    generate: Callable | None = None  # (seeds int64 [n], {condition: array}) -> uint8 [n, H, W, C]
    decode: Callable | None = None  # (z float32 [n, L], {condition: array}) -> uint8 [n, H, W, C]
    latents: Callable | None = None  # seeds int64 [n] -> z float32 [n, L] (as the export's generate makes them)
    translate: Callable | None = None  # (list of image bytes, direction) -> list of PNG bytes
    directions: list[str] = field(default_factory=list)
    direction_labels: dict = field(default_factory=dict)  # a2b/b2a -> what a user reads ("photo -> ukiyo-e")
    channels: int = 3
    latent_dim: int = 0
    signatures: list[str] = field(default_factory=list)

    def describe(self) -> str:
        sigs = ", ".join(self.signatures)
        if self.kind == TRANSLATOR:
            return f"image translator export `{self.name}` ({self.channels} channels; signatures: {sigs})"
        conds = "; ".join(f"{m['name']} ({m['type']}, {len(m['classes'])} classes)" for m in self.metas)
        what = f"conditional generator, conditions: {conds}" if self.metas else "latent generator"
        return f"{what} `{self.name}` (latent_dim {self.latent_dim}; signatures: {sigs})"


STYLE_NAMES = {"ukiyoe": "ukiyo-e"}  # how a style's preset name is written for people


def style_name(name: str) -> str:
    """The style side of a translator, for the page: 'FAMILY_ukiyoe' -> 'ukiyo-e', 'monet/1' -> 'monet', a bare
    family name -> 'style'."""
    from keras_gans.models import without_family

    base = without_family(str(name).split("/")[0])
    base = base.strip("_-") or "style"
    return STYLE_NAMES.get(base, base.replace("_", " "))


def model_from_signatures(sigs, name: str = "model") -> DemoModel:
    """A DemoModel over a loaded SavedModel's `signatures` mapping (what tf.saved_model.load(path).signatures is)."""
    import tensorflow as tf

    names = sorted(sigs.keys())
    if any(k in sigs for k in ("a2b_bytes", "a2b", "b2a_bytes", "b2a")):  # a one-direction export has only one
        dirs = [d for d in ("a2b", "b2a") if f"{d}_bytes" in sigs]
        labels = {}
        if "directions" in sigs:  # photo -> style first: the page's default is what `transfer` does by default
            from keras_gans.export.savedmodel import read_json_signature

            meta = read_json_signature(sigs, "directions")
            first = meta["photo2style"]
            dirs = sorted(dirs, key=lambda d: d != first)
            style = style_name(meta.get("name") or name)
            labels = {meta["photo2style"]: f"photo -> {style}", meta["style2photo"]: f"{style} -> photo"}
        if not dirs:
            raise UserError(f"{name}: a transfer export needs the a2b_bytes or b2a_bytes signature; re-export it with this version")
        tensor_sig = next((sigs[d] for d in ("a2b", "b2a") if d in sigs), None)
        channels = int(tensor_sig.structured_input_signature[1]["images"].shape[-1]) if tensor_sig is not None else 3

        def translate(blobs, direction):
            if direction not in dirs:
                raise UserError(f"direction must be one of {', '.join(dirs)}, got {direction!r}")
            out = sigs[f"{direction}_bytes"](image_bytes=tf.constant(list(blobs), tf.string))["image_bytes"]
            return [bytes(b) for b in out.numpy()]

        return DemoModel(TRANSLATOR, name, translate=translate, directions=dirs, channels=channels, signatures=names,
                         direction_labels={d: labels.get(d, d) for d in dirs})
    if "generate" not in sigs:
        raise UserError(f"{name} has no 'generate' signature: the demo serves generator exports (latent, conditional) "
                        "and image translator exports from `python cli.py export`")
    from keras_gans.export.savedmodel import read_json_signature

    metas = read_json_signature(sigs, "conditions") or []
    gen, dec = sigs["generate"], sigs.get("serving_default")
    extra = sorted(set(gen.structured_input_signature[1]) - {"seed"} - {m["name"] for m in metas})
    if extra:  # label inputs without their class names: the page could not offer choices
        raise UserError(f"{name}: 'generate' takes {', '.join(extra)} but the export has no 'conditions' signature "
                        "naming their classes; re-export the run with `python cli.py export RUN`")
    latent_dim = int(dec.structured_input_signature[1]["z"].shape[-1]) if dec is not None else 0

    def generate(seeds, conds):
        kw = {k: tf.constant(v) for k, v in conds.items()}
        return gen(seed=tf.constant(np.asarray(seeds, np.int64)), **kw)["images"].numpy()

    def decode(z, conds):
        kw = {k: tf.constant(v) for k, v in conds.items()}
        return dec(z=tf.constant(np.asarray(z, np.float32)), **kw)["images"].numpy()

    def latents(seeds):
        from keras_gans.models.latent import seeds_to_latent

        return seeds_to_latent(tf.constant(np.asarray(seeds, np.int64)), latent_dim).numpy()

    probe = generate(np.zeros([1], np.int64), _first_class_arrays(metas, 1))  # also warms the graph up
    return DemoModel(CONDITIONAL if metas else LATENT, name, metas, generate,
                     decode if dec is not None else None, latents if dec is not None else None,
                     channels=int(probe.shape[-1]), latent_dim=latent_dim, signatures=names)


def load_model(path: str | Path) -> DemoModel:
    import tensorflow as tf

    version = resolve_export(path)
    try:
        loaded = tf.saved_model.load(str(version))
    except Exception as e:  # a corrupt or foreign SavedModel: say which folder, not a TensorFlow traceback
        raise UserError(f"could not load the SavedModel in {version}: {str(e).splitlines()[0]}") from None
    name = version.parent.name if version.name.isdigit() else version.name
    if name == "export":
        name = version.parent.parent.name
    model = model_from_signatures(loaded.signatures, f"{name}/{version.name}")
    model._loaded = loaded  # keep the variables alive as long as the model
    return model


# ----- page requests -> arrays -------------------------------------------------------------------------------------
def parse_seed(value) -> int:
    """A seed from a page box (int, float or text) -> int in [0, MAX_SEED)."""
    try:
        f = float(value)
    except (TypeError, ValueError):
        raise UserError(f"the seed must be a whole number, got {value!r}") from None
    if not np.isfinite(f) or f != int(f) or not 0 <= f < MAX_SEED:
        raise UserError(f"the seed must be a whole number from 0 to {MAX_SEED - 1}, got {value!r}")
    return int(f)


def parse_int(value, what: str, lo: int, hi: int) -> int:
    """A whole number from a page control or an API call (int, float or text) in [lo, hi], or a UserError."""
    try:
        f = float(value)
    except (TypeError, ValueError):
        raise UserError(f"{what} must be a whole number from {lo} to {hi}, got {value!r}") from None
    if not np.isfinite(f) or f != int(f) or not lo <= f <= hi:
        raise UserError(f"{what} must be a whole number from {lo} to {hi}, got {value!r}")
    return int(f)


def new_seed(rng: np.random.Generator | None = None) -> int:
    return int((rng or np.random.default_rng()).integers(0, 1_000_000))


def grid_seeds(seed: int, n: int) -> np.ndarray:
    """Image i of seed S uses latent seed S*100000+i (the `sample --seed` rule)."""
    return latent_seeds(seed, n)


def control_for(meta: dict) -> str:
    """The page control a condition gets: a dropdown (one class of K), checkboxes (a label set), or one checkbox
    (a binary attribute: on/off)."""
    if meta["type"] == "softmax":
        return "dropdown"
    return "checkbox" if len(meta["classes"]) == 1 else "checkboxes"


def default_choice(meta: dict):
    c = control_for(meta)
    return MIXED if c == "dropdown" else (True if c == "checkbox" else [meta["classes"][0]])


def condition_request(metas: list[dict], choices) -> dict:
    """The page's condition controls (one value per condition, in metas order, or a dict by name) -> a request for
    keras_gans.parts.conditioning.request_arrays. Softmax: a class name, or MIXED (balanced over images). Sigmoid: the
    checked class names (none checked = all off), or a bool for a one-class (binary) attribute."""
    if not isinstance(choices, dict):
        choices = list(choices)
        if len(choices) != len(metas):
            raise UserError(f"expected {len(metas)} condition values, got {len(choices)}")
        choices = {m["name"]: v for m, v in zip(metas, choices)}
    req = {}
    for m in metas:
        v = choices.get(m["name"])
        if m["type"] == "softmax":
            if v is None or v == "" or v == MIXED:
                continue
            req[m["name"]] = v
        else:
            k = len(m["classes"])
            vec = np.zeros(k, np.float32)
            if isinstance(v, (bool, np.bool_)):
                vec[:] = float(v)
            else:
                for c in ([v] if isinstance(v, str) else list(v or [])):
                    from keras_gans.parts.conditioning import encode_value

                    vec = np.maximum(vec, encode_value(m, str(c)))
            req[m["name"]] = vec
    return req


def _first_class_arrays(metas, n):
    from keras_gans.parts.conditioning import request_arrays

    req = {m["name"]: 0 for m in metas if m["type"] == "softmax"}
    req.update({m["name"]: np.eye(len(m["classes"]), dtype=np.float32)[0] for m in metas if m["type"] == "sigmoid"})
    return request_arrays(metas, n, req)


def grid_inputs(metas: list[dict], seed: int, n: int, choices=None, vary: str | None = None):
    """(seeds int64, {condition: array}, images per row, row names) for a grid of n images (with vary: one row of n
    per class of that condition, the same seeds in every row)."""
    from keras_gans.parts.conditioning import request_arrays

    n = parse_int(n, "the grid size", 1, MAX_COLUMNS if vary and vary != NO_VARY else MAX_IMAGES)
    seeds = grid_seeds(seed, n)
    req = condition_request(metas, choices) if metas else {}
    rows: list[str] = []
    nrow = None
    if vary and vary != NO_VARY:
        meta = next((m for m in metas if m["name"] == vary), None)
        if meta is None:
            names = ", ".join(m["name"] for m in metas) or "none"
            raise UserError(f"no condition '{vary}' to vary; conditions: {names}")
        k = len(meta["classes"])
        if k * n > MAX_IMAGES:
            raise UserError(f"varying {vary} makes {k} rows of {n} = {k * n} images; at most {MAX_IMAGES}: "
                            f"use {MAX_IMAGES // k} or fewer per row")
        req.pop(vary, None)
        if meta["type"] == "softmax":
            req[vary] = np.repeat(np.arange(k, dtype=np.int32), n)
        else:
            req[vary] = np.repeat(np.eye(k, dtype=np.float32), n, axis=0)
        seeds = np.tile(seeds, k)
        nrow, rows = n, list(meta["classes"])
    arrays = request_arrays(metas, len(seeds), req) if metas else {}
    return seeds, arrays, nrow, rows


def generate_grid(model: DemoModel, seed, n, choices=None, vary=None, truncation=1.0):
    """(grid uint8 [H, W, C], images uint8 [N, h, w, C], caption) through the export's `generate` signature; with
    truncation psi < 1 through `serving_default` on psi * z (`sample --truncation`; z of the seeds at sigma 1)."""
    from keras_gans.core.images import make_grid

    if model.generate is None:
        raise UserError("this export has no generate signature")
    seeds, arrays, nrow, rows = grid_inputs(model.metas, parse_seed(seed), n, choices, vary)
    try:
        psi = float(truncation if truncation not in (None, "") else 1.0)
    except (TypeError, ValueError):
        raise UserError(f"truncation must be a number in [0, 1] (1 = none), got {truncation!r}") from None
    if not 0.0 <= psi <= 1.0:
        raise UserError(f"truncation must be in [0, 1] (1 = none), got {truncation}")
    if psi < 1.0 and model.decode is not None:
        images = np.asarray(model.decode(model.latents(seeds) * psi, arrays))
    else:
        images = np.asarray(model.generate(seeds, arrays))
    grid = make_grid(images, nrow=nrow)
    caption = f"{len(images)} images, latent seeds {int(seeds[0])}..{int(seeds[:int(n)][-1])}"
    if psi < 1.0 and model.decode is not None:
        caption += f", truncation psi {psi:g}"
    if rows:
        caption += f"; rows top to bottom: {vary} = " + ", ".join(rows)
    return grid, images, caption


def interpolation_frames(model: DemoModel, seed_a, seed_b, steps: int = 8, method: str = "slerp", choices=None):
    """uint8 [steps, H, W, C] from the first image of seed A's grid to that of seed B's, through the export's
    `serving_default` (z in). Conditions stay fixed along the strip (a mixed class -> its first class)."""
    from keras_gans.models.latent import interpolate_latents

    if model.decode is None or model.latents is None:
        raise UserError("this export has no serving_default(z) signature to interpolate with")
    steps = parse_int(steps, "interpolation steps", 2, MAX_STEPS)
    if method not in ("linear", "slerp"):
        raise UserError(f"method must be linear or slerp, got {method!r}")
    z = model.latents(np.array([grid_seeds(parse_seed(seed_a), 1)[0], grid_seeds(parse_seed(seed_b), 1)[0]]))
    path = interpolate_latents(z[:1], z[1:], steps, method)[0]
    conds = {}
    if model.metas:
        from keras_gans.parts.conditioning import request_arrays

        req = condition_request(model.metas, choices if choices is not None else
                                [default_choice(m) for m in model.metas])
        one = request_arrays(model.metas, 1, req)  # mixed -> class 0 for a single image
        conds = {k: np.repeat(v, steps, axis=0) for k, v in one.items()}
    return np.asarray(model.decode(path, conds))


def gif_bytes(frames: np.ndarray, ms: int = 120, min_side: int = 128) -> bytes:
    """An animated GIF that walks the frames forth and back (looping); small frames are enlarged (nearest) so the
    animation is visible."""
    from PIL import Image

    frames = np.asarray(frames)
    if frames.ndim != 4 or len(frames) < 1:
        raise UserError("no frames to animate")
    scale = max(1, -(-min_side // min(frames.shape[1:3])))
    seq = list(frames) + list(frames[-2:0:-1])
    pics = []
    for f in seq:
        img = Image.fromarray(f[..., 0] if f.shape[-1] == 1 else f)
        pics.append(img.resize((img.width * scale, img.height * scale), Image.NEAREST) if scale > 1 else img)
    buf = io.BytesIO()
    pics[0].save(buf, format="GIF", save_all=True, append_images=pics[1:], duration=ms, loop=0)
    return buf.getvalue()


def translate_image(model: DemoModel, image: np.ndarray, direction: str | None = None) -> np.ndarray:
    """An uploaded photo (uint8 [H, W], [H, W, 3] or [H, W, 4], any size) -> the translated uint8 image of the same
    height and width, through the export's `{direction}_bytes` signature (PNG in, PNG out)."""
    from keras_gans.core.images import encode_png

    if model.translate is None:
        raise UserError("this export does not translate images (no a2b_bytes or b2a_bytes signature)")
    direction = direction or model.directions[0]  # photo -> style where the export says which side is the photo
    if image is None:
        raise UserError("upload a photo first")
    image = np.asarray(image)
    if image.dtype != np.uint8:
        image = np.clip(image, 0, 255).astype(np.uint8)
    if image.ndim == 2:
        image = image[..., None]
    if image.ndim != 3 or image.shape[-1] not in (1, 3, 4) or min(image.shape[:2]) < 1:
        raise UserError(f"expected an image of shape [H, W, 1|3|4], got {list(image.shape)}")
    if image.shape[-1] == 4:
        image = image[..., :3]
    out = model.translate([encode_png(image)], direction)[0]
    return decode_png(out)


def translate_file(model: DemoModel, path: str | Path, direction: str | None = None):
    """An uploaded file -> (the translated image as a PIL image at the file's own size, notes on what was dropped).
    Read like `transfer` reads it (keras_gans.data.images.open_image: EXIF rotation, a reason for a file that is not
    an image or is truncated) and with the same memory bound: decoded at most PHOTO_MAX_PIXELS big, the result
    scaled back to the file's size in uint8."""
    from keras_gans.data.images import (PHOTO_MAX_PIXELS, TRANSFER_MAX_PIXELS, BadImage, dropped_notes, open_image,
                                        restore_size, to_array)

    if path is None:
        raise UserError("upload a photo first")
    try:
        img = open_image(str(path), max_pixels=PHOTO_MAX_PIXELS, max_input_pixels=TRANSFER_MAX_PIXELS)
    except BadImage as e:
        raise UserError(f"the upload is {e}" if str(e).startswith("not ") else f"the upload cannot be used: {e}") from None
    notes = dropped_notes(img)
    size = img.info["original_size"]
    image = to_array(img, model.channels)
    del img
    return restore_size(translate_image(model, image, direction), size), notes


def display_scale(cell: int, min_cell: int = 64) -> int:
    """The whole factor that shows a grid's cells at least min_cell pixels wide (nearest-neighbour): 16 px -> 4;
    the rule of the sample grids (images.cell_scale)."""
    from keras_gans.core.images import cell_scale

    return cell_scale(max(1, int(cell)), max(1, int(cell)), int(min_cell))


def enlarge(image: np.ndarray, k: int) -> np.ndarray:
    """Nearest-neighbour k-times enlargement (every pixel a k x k block): small cells stay sharp on the page."""
    image = np.asarray(image)
    return image if k == 1 else np.repeat(np.repeat(image, k, axis=0), k, axis=1)


def decode_png(data: bytes) -> np.ndarray:
    from PIL import Image

    img = np.asarray(Image.open(io.BytesIO(data)))
    return img[..., None] if img.ndim == 2 else img


def display(image: np.ndarray) -> np.ndarray:
    """Gray [H, W, 1] -> [H, W] (what image widgets and PIL expect); colour unchanged."""
    image = np.asarray(image)
    return image[..., 0] if image.ndim == 3 and image.shape[-1] == 1 else image
