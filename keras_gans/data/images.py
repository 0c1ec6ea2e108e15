"""Image folders -> one uint8 array [N, H, W, C], decoded once in parallel and cached.

Decoding uses Pillow (not tf.io) because it reads every format users bring (png, jpg, bmp, webp, palette, 16-bit,
EXIF-rotated) and lets each bad file be named in a warning instead of failing a whole tf.data epoch. The decoded
array is cached on disk keyed by the files' names, sizes and mtimes, so the second run starts at once.
"""

from __future__ import annotations

import hashlib
import os
import warnings
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps

from keras_gans.core.errors import UserError
from keras_gans.core.io_utils import atomic_path

IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".bmp", ".webp")
GRAY_MODES = {"1", "L", "LA", "I", "I;16", "I;16B", "I;16L", "I;16N", "F"}
# Refuse images that would take more than this many pixels to decode (decompression bombs, broken headers).
MAX_PIXELS = 8192 * 8192
# Photos for transfer and the demo are decoded at most this big (JPEG: at a reduced DCT scale, never full size) and
# the result is scaled back to the file's size in uint8, so the model's part of the memory does not grow with the
# photo. 1 megapixel is still 4x the largest working size a generator runs at (shorter side = its training size, up
# to 256 px, longer side at most 4x that), so the generator sees the same picture; smaller photos are not resampled.
PHOTO_MAX_PIXELS = 1024 * 1024
# The largest photo transfer and the demo accept: the result at the photo's size (4 bytes a pixel while it is encoded)
# plus TensorFlow and the model (about 0.7 GB) stay under 1 GB. Measured: docs/reliability.md, "Big photos".
TRANSFER_MAX_PIXELS = 40_000_000

class BadImage(Exception):
    """One file that cannot be used; the message says why."""


@dataclass
class ImageSet:
    """Decoded images (uint8, [N, size, size, C]) and the files they came from, in the same order."""

    images: np.ndarray
    paths: list[str]
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (path, reason)
    labels: dict[str, np.ndarray] = field(default_factory=dict)  # filled by label sources for conditional models
    label_names: dict[str, list[str]] = field(default_factory=dict)  # label -> class names
    label_source: str = ""  # where the labels came from (for messages)

    def __len__(self) -> int:
        return len(self.images)


def find_images(root: str | Path) -> list[str]:
    """All image files below root (recursive, sorted, hidden files skipped)."""
    root = Path(root)
    if not root.exists():
        raise UserError(f"data folder not found: {root} (pass an existing folder with --data)")
    if root.is_file():
        if root.suffix.lower() in IMAGE_EXTENSIONS:
            return [str(root)]
        raise UserError(f"--data must be a folder of images, got the file {root}")
    found = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        for f in filenames:
            if not f.startswith(".") and f.lower().endswith(IMAGE_EXTENSIONS):
                found.append(os.path.join(dirpath, f))
    if not found:
        raise UserError(
            f"no images found in {root} (looked recursively for {', '.join(IMAGE_EXTENSIONS)}); "
            "point --data at a folder that contains image files"
        )
    return sorted(found)


def to_array(img: Image.Image, channels: int) -> np.ndarray:
    """Convert any Pillow mode to uint8 with 1 or 3 channels. Alpha is composited on white; 16-bit is scaled."""
    if img.mode in ("I;16", "I;16B", "I;16L", "I;16N", "I"):
        a = np.asarray(img, dtype=np.float64)
        hi = 65535.0 if img.mode.startswith("I;16") or a.max() > 255 else 255.0
        img = Image.fromarray(np.clip(a / hi * 255.0 + 0.5, 0, 255).astype(np.uint8), "L")
    elif img.mode == "F":
        a = np.asarray(img, dtype=np.float64)
        lo, hi = float(a.min()), float(a.max())
        a = (a - lo) / (hi - lo) * 255.0 if hi > lo else np.zeros_like(a)
        img = Image.fromarray(a.astype(np.uint8), "L")
    if img.mode in ("RGBA", "LA", "PA") or (img.mode == "P" and "transparency" in img.info):
        rgba = img.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        img = Image.alpha_composite(background, rgba)
    img = img.convert("L" if channels == 1 else "RGB")
    a = np.asarray(img, dtype=np.uint8)
    return a[..., None] if channels == 1 else a


RESIZE_MODES = ("crop", "squash", "pad")


def resize_image(img: Image.Image, size: int, mode: str = "crop") -> Image.Image:
    """A size x size image (data.resize): `crop` scales the shorter side to size and cuts the centre (edges of
    non-square frames are lost); `squash` scales both sides to size (the aspect ratio changes, nothing is lost);
    `pad` scales the longer side to size and fills the rest with the mean colour of the image's border (nothing
    is lost or distorted; the fill is a colour the picture already has at its edge)."""
    if mode == "crop":
        return _resize_crop(img, size)
    w, h = img.size
    if mode == "squash":
        return img if (w, h) == (size, size) else img.resize((size, size), Image.Resampling.BICUBIC, reducing_gap=3.0)
    if mode != "pad":
        raise UserError(f"data.resize must be one of {', '.join(RESIZE_MODES)}; got {mode!r}")
    if img.mode not in ("RGB", "L"):  # alpha composited, 16-bit scaled, palettes expanded: then pad in RGB/L
        img = Image.fromarray(np.squeeze(to_array(img, image_channels(img)), -1) if image_channels(img) == 1
                              else to_array(img, 3))
    if (w, h) == (size, size):
        return img
    scale = size / max(w, h)
    nw, nh = max(1, min(size, round(w * scale))), max(1, min(size, round(h * scale)))
    img = img.resize((nw, nh), Image.Resampling.BICUBIC, reducing_gap=3.0)
    a = np.asarray(img, np.float64)
    a = a[..., None] if a.ndim == 2 else a
    border = np.concatenate([a[0], a[-1], a[:, 0], a[:, -1]])  # [pixels, channels]
    fill = tuple(int(round(v)) for v in border.mean(0))
    canvas = Image.new(img.mode, (size, size), fill if img.mode == "RGB" else fill[0])
    canvas.paste(img, ((size - nw) // 2, (size - nh) // 2))
    return canvas


def interior(img: Image.Image, margin: float) -> Image.Image:
    """The image without `margin` (a fraction) of its width and height on each side: the picture of a print
    without its paper margin, frame line and most of its border text. margin=0 returns the image itself."""
    if not margin:
        return img
    if not 0 <= margin < 0.5:
        raise UserError(f"an interior margin must be in [0, 0.5), got {margin!r}")
    w, h = img.size
    dx, dy = round(margin * w), round(margin * h)
    return img.crop((dx, dy, w - dx, h - dy))


def _resize_crop(img: Image.Image, size: int) -> Image.Image:
    """Resize the shorter side to `size` (antialiased bicubic), then centre-crop to a square."""
    w, h = img.size
    if (w, h) != (size, size):
        scale = size / min(w, h)
        nw, nh = max(size, round(w * scale)), max(size, round(h * scale))
        img = img.resize((nw, nh), Image.Resampling.BICUBIC, reducing_gap=3.0)
        left, top = (nw - size) // 2, (nh - size) // 2
        img = img.crop((left, top, left + size, top + size))
    return img


def open_image(path: str, max_pixels: int | None = None, max_input_pixels: int = MAX_PIXELS) -> Image.Image:
    """Open and fully decode one image, EXIF orientation applied; raise BadImage with a reason.

    max_pixels bounds the memory a big photo takes (transfer, the demo): a larger image is decoded reduced (JPEG:
    Pillow's draft mode, which decodes at 1/2, 1/4 or 1/8 scale without ever holding the full-size pixels; other
    formats: reduced right after decoding) to at most max_pixels, aspect kept. info['original_size'] keeps the
    (width, height) of the file (after EXIF rotation), info['n_frames'] the frame count (animated GIF / WebP).
    A file of more than max_input_pixels is refused (BadImage) before anything is decoded."""
    try:
        if os.path.getsize(path) == 0:
            raise BadImage("empty file (0 bytes)")
        with Image.open(path) as img:
            w, h = img.size
            if w * h > MAX_PIXELS:
                raise BadImage(f"too large to decode ({w}x{h} pixels; the limit is {MAX_PIXELS} pixels)")
            if w * h > max_input_pixels:
                raise BadImage(f"too large: {w}x{h} is {w * h / 1e6:.1f} megapixels, the largest accepted is "
                               f"{max_input_pixels / 1e6:.0f} megapixels (so memory stays under 1 GB); downscale it first")
            n_frames = int(getattr(img, "n_frames", 1) or 1)
            scale = (max_pixels / (w * h)) ** 0.5 if max_pixels and w * h > max_pixels else 1.0
            if scale < 1.0 and img.format == "JPEG":
                img.draft(img.mode if img.mode in ("RGB", "L") else None, (max(1, int(w * scale)), max(1, int(h * scale))))
            img.load()
            if scale < 1.0:
                img = _reduce_to(img, max_pixels)
            rotated = ImageOps.exif_transpose(img)
            out = rotated if rotated is not img else img.copy()
            out.info["n_frames"] = n_frames
            swapped = rotated is not img and rotated.size == img.size[::-1] and img.size[0] != img.size[1]
            out.info["original_size"] = (h, w) if swapped else (w, h)  # EXIF rotated by 90 degrees: sides swap
            return out
    except BadImage:
        raise
    except Image.DecompressionBombError as e:
        raise BadImage(f"too large to decode ({e})") from None
    except (OSError, ValueError, SyntaxError, Image.UnidentifiedImageError) as e:
        msg = str(e).replace(str(path), "").strip(" :'") or type(e).__name__
        raise BadImage(f"not a decodable image ({msg})") from None


def _reduce_to(img: Image.Image, max_pixels: int) -> Image.Image:
    """img shrunk (antialiased, aspect kept) to at most max_pixels pixels; unchanged when it is small enough."""
    w, h = img.size
    if w * h <= max_pixels:
        return img
    scale = (max_pixels / (w * h)) ** 0.5
    size = (max(1, int(w * scale)), max(1, int(h * scale)))
    if img.mode not in ("RGB", "RGBA", "L", "LA", "1"):  # palettes, 16-bit: resample in a mode that can
        img = img.convert("RGBA" if "A" in img.getbands() or "transparency" in img.info else
                          ("L" if img.mode in GRAY_MODES else "RGB"))
    return img.resize(size, Image.Resampling.BICUBIC, reducing_gap=3.0)


def restore_size(image: np.ndarray, size: tuple[int, int]) -> Image.Image:
    """uint8 [h, w, C] -> a PIL image of size (width, height), bicubic; unchanged (as a PIL image) at that size.
    Works in uint8 (4 bytes a pixel), the cheapest full-size copy there is."""
    img = Image.fromarray(image[..., 0] if image.ndim == 3 and image.shape[-1] == 1 else image)
    return img if img.size == tuple(size) else img.resize(tuple(size), Image.Resampling.BICUBIC)


def dropped_notes(img: Image.Image) -> list[str]:
    """What converting this image to the model's pixels leaves out, for one note line: the other frames of an
    animated image, the alpha channel (composited on white)."""
    notes = []
    n = int(img.info.get("n_frames", 1))
    if n > 1:
        notes.append(f"animated ({n} frames): only the first frame is used")
    if img.mode in ("RGBA", "LA", "PA") or (img.mode == "P" and "transparency" in img.info):
        alpha = img.convert("RGBA").getchannel("A") if img.mode in ("P", "PA") else img.getchannel("A")
        if alpha.getextrema()[0] < 255:
            notes.append("transparent pixels are composited on white (the alpha channel is dropped)")
    return notes


def image_channels(img: Image.Image) -> int:
    if img.mode in GRAY_MODES:
        return 1
    if img.mode == "P":
        # A palette image whose palette is all grey counts as grayscale.
        pal = img.getpalette() or []
        rgb = np.asarray(pal[: 3 * 256], dtype=np.int32).reshape(-1, 3)
        return 1 if len(rgb) and np.all(rgb[:, 0] == rgb[:, 1]) and np.all(rgb[:, 1] == rgb[:, 2]) else 3
    return 3


def _cache_key(paths: list[str], size: int, channels: int | None, resize: str = "crop", margin: float = 0.0) -> str:
    # the resize mode and margin are part of the key (crop without a margin keeps the key it always had, so
    # existing caches stay valid)
    h = hashlib.sha1((f"v1|{size}|{channels}" + ("" if resize == "crop" else f"|{resize}")
                      + (f"|m{float(margin)!r}" if margin else "")).encode())
    for p in paths:
        try:
            st = os.stat(p)
            h.update(f"{os.path.abspath(p)}|{st.st_size}|{st.st_mtime_ns}\n".encode())
        except OSError:
            h.update(f"{p}|missing\n".encode())
    return h.hexdigest()[:20]


def default_cache_dir() -> Path:
    base = os.environ.get("KERAS_GANS_CACHE") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "keras_gans"
    )
    return Path(base) / "images"


UPSCALE_WARN = 1.2  # 28 -> 32 px MNIST (the labs' own Resize(32)) passes quietly; 64 -> 96 px faces do not


def warn_if_upscaled(paths: list[str], size: int, sample: int = 8) -> tuple[int, int] | None:
    """Warn, loudly, when the images are more than UPSCALE_WARN times smaller than data.image_size: they would be
    upscaled and the nets would train on interpolated pixels (e.g. acgan96's 96 px nets on the 64 px anime faces).
    Reads only the headers of a few files spread over the list. Returns (smallest, largest shorter side) when it
    warned."""
    if not paths:
        return None
    idx = sorted({int(i) for i in np.linspace(0, len(paths) - 1, min(sample, len(paths)))})
    sides = []
    for i in idx:
        try:
            with Image.open(paths[i]) as img:
                sides.append(min(img.size))
        except Exception:  # unreadable files are reported by the decoder
            continue
    if not sides or max(sides) * UPSCALE_WARN > size:
        return None
    lo, hi = min(sides), max(sides)
    have = f"{lo} px" if lo == hi else f"{lo}-{hi} px"
    warnings.warn(f"UPSCALING: these images are {have} (shorter side), smaller than data.image_size {size}: every "
                  f"image is enlarged {size / hi:.2g}x by bicubic interpolation and the nets learn interpolated "
                  f"pixels, no detail the data has not got. Train at --set data.image_size={hi} (with nets sized "
                  "for it) to use the data as it is.", stacklevel=3)
    return lo, hi


def load_images(
    paths: list[str],
    size: int,
    channels: int | None = None,
    on_bad_file: str = "skip",
    cache_dir: str | Path | None = None,
    workers: int | None = None,
    progress: bool = False,
    resize: str = "crop",
    margin: float = 0.0,
) -> ImageSet:
    """Decode, resize and crop every file (threads in parallel). Bad files are skipped with a warning naming
    each, or raise, per on_bad_file. Mixed grayscale/colour folders are an error unless channels is given.
    resize: crop | squash | pad (see resize_image); margin: the fraction of each side cut off first (`interior`)."""
    if resize not in RESIZE_MODES:
        raise UserError(f"data.resize must be one of {', '.join(RESIZE_MODES)}; got {resize!r}")
    warn_if_upscaled(paths, size)
    cache_file = None
    if cache_dir is not False:
        cache = Path(cache_dir) if cache_dir else default_cache_dir()
        cache_file = cache / f"{_cache_key(paths, size, channels, resize, margin)}.npz"
        cached = _read_cache(cache_file)
        if cached is not None:
            # The cache remembers the bad files, so the policy holds on every run, not only the first.
            _apply_bad_file_policy(cached.skipped, on_bad_file)
            _warn_skipped(cached.skipped)
            return cached

    def decode(p: str):
        """One pass per file: decode, resize, convert; only the small result is kept (not the full image)."""
        try:
            img = open_image(p)
            native = image_channels(img)
            return to_array(resize_image(interior(img, margin), size, resize), channels or native), native, None
        except BadImage as e:
            return None, None, str(e)

    workers = workers or min(8, (os.cpu_count() or 2) * 2)
    bar = _progress(len(paths), "decoding images") if progress and len(paths) > 500 else None
    decoded = []
    with ThreadPoolExecutor(workers) as pool:
        for i, r in enumerate(pool.map(decode, paths)):
            decoded.append(r)
            if bar is not None and (i + 1) % 200 == 0:
                bar.update(i + 1)
    if bar is not None:
        bar.update(len(paths), finalize=True)

    skipped = [(p, err) for p, (_, _, err) in zip(paths, decoded) if err]
    _apply_bad_file_policy(skipped, on_bad_file)
    good = [(p, a, c) for p, (a, c, err) in zip(paths, decoded) if not err]
    if not good:
        raise UserError(f"none of the {len(paths)} image files could be decoded (first: {skipped[0][0]}: {skipped[0][1]})")
    if channels is None:  # each array kept its own channel count: they must agree
        _check_one_channel_count([c for _, _, c in good])
    arrays = [a for _, a, _ in good]
    images = np.stack(arrays).astype(np.uint8)
    _warn_skipped(skipped)
    result = ImageSet(images, [p for p, _, _ in good], skipped)
    if cache_file is not None:
        _write_cache(cache_file, result)
    return result


def _read_cache(cache_file: Path) -> ImageSet | None:
    """The decoded set a cache file holds, or None (no file, or a damaged one: it is only a cache)."""
    if not cache_file.is_file():
        return None
    try:
        with np.load(cache_file, allow_pickle=False) as z:
            kept = [str(p) for p in z["paths"]]
            skipped = [tuple(s) for s in z["skipped"].tolist()] if z["skipped"].size else []
            return ImageSet(z["images"], kept, skipped)
    except Exception:  # a damaged cache is only a cache: decode again
        return None


def _write_cache(cache_file: Path, result: ImageSet):
    try:
        cache_file.parent.mkdir(parents=True, exist_ok=True)
        with atomic_path(cache_file) as tmp:
            with open(tmp, "wb") as f:
                np.savez(
                    f,
                    images=result.images,
                    paths=np.array(result.paths),
                    skipped=np.array(result.skipped, dtype=str).reshape(-1, 2),
                )
    except OSError:
        pass  # a read-only cache folder only costs the next run a re-decode


def _check_one_channel_count(native: list[int]):
    """A folder of grayscale and colour images needs data.channels to say which."""
    counts = {1: sum(c == 1 for c in native), 3: sum(c == 3 for c in native)}
    if counts[1] and counts[3]:
        raise UserError(
            f"the folder mixes {counts[1]} grayscale and {counts[3]} colour images; "
            "choose one with --set data.channels=3 (or 1) and all images are converted"
        )


def _apply_bad_file_policy(skipped, on_bad_file: str):
    """data.on_bad_file=fail: the first bad file is an error naming it (the others are counted)."""
    if skipped and on_bad_file == "fail":
        p, err = skipped[0]
        raise UserError(
            f"{p}: {err}; remove the file, or set data.on_bad_file=skip to skip bad files with a warning"
            + (f" ({len(skipped)} bad files in all)" if len(skipped) > 1 else "")
        )


def _warn_skipped(skipped):
    for p, err in skipped[:10]:
        warnings.warn(f"skipped {p}: {err}", stacklevel=3)
    if len(skipped) > 10:
        warnings.warn(f"... and {len(skipped) - 10} more unreadable files skipped", stacklevel=3)


def _progress(total: int, what: str):
    from keras_gans.core.io_utils import progbar

    print(what)
    return progbar(total, "image")
