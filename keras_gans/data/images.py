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

from keras_gans.errors import UserError
from keras_gans.io_utils import atomic_path

IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".bmp", ".webp")
GRAY_MODES = {"1", "L", "LA", "I", "I;16", "I;16B", "I;16L", "I;16N", "F"}
# Refuse images that would take more than this many pixels to decode (decompression bombs, broken headers).
MAX_PIXELS = 8192 * 8192


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


def open_image(path: str) -> Image.Image:
    """Open and fully decode one image, EXIF orientation applied; raise BadImage with a reason."""
    try:
        if os.path.getsize(path) == 0:
            raise BadImage("empty file (0 bytes)")
        with Image.open(path) as img:
            w, h = img.size
            if w * h > MAX_PIXELS:
                raise BadImage(f"too large to decode ({w}x{h} pixels; the limit is {MAX_PIXELS} pixels)")
            img.load()
            rotated = ImageOps.exif_transpose(img)
            return rotated if rotated is not img else img.copy()
    except BadImage:
        raise
    except Image.DecompressionBombError as e:
        raise BadImage(f"too large to decode ({e})") from None
    except (OSError, ValueError, SyntaxError, Image.UnidentifiedImageError) as e:
        msg = str(e).replace(str(path), "").strip(" :'") or type(e).__name__
        raise BadImage(f"not a decodable image ({msg})") from None


def image_channels(img: Image.Image) -> int:
    if img.mode in GRAY_MODES:
        return 1
    if img.mode == "P":
        # A palette image whose palette is all grey counts as grayscale.
        pal = img.getpalette() or []
        rgb = np.asarray(pal[: 3 * 256], dtype=np.int32).reshape(-1, 3)
        return 1 if len(rgb) and np.all(rgb[:, 0] == rgb[:, 1]) and np.all(rgb[:, 1] == rgb[:, 2]) else 3
    return 3


def load_image(path: str, size: int, channels: int, resize: str = "crop") -> np.ndarray:
    return to_array(resize_image(open_image(path), size, resize), channels)


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
    if cache_dir is not False:
        cache = Path(cache_dir) if cache_dir else default_cache_dir()
        cache_file = cache / f"{_cache_key(paths, size, channels, resize, margin)}.npz"
        if cache_file.is_file():
            cached = None
            try:
                with np.load(cache_file, allow_pickle=False) as z:
                    kept = [str(p) for p in z["paths"]]
                    skipped = [tuple(s) for s in z["skipped"].tolist()] if z["skipped"].size else []
                    cached = ImageSet(z["images"], kept, skipped)
            except Exception:  # a damaged cache is only a cache: decode again
                pass
            if cached is not None:
                # The cache remembers the bad files, so the policy holds on every run, not only the first.
                _apply_bad_file_policy(cached.skipped, on_bad_file)
                _warn_skipped(cached.skipped)
                return cached
    else:
        cache_file = None

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
        counts = {1: sum(c == 1 for _, _, c in good), 3: sum(c == 3 for _, _, c in good)}
        if counts[1] and counts[3]:
            raise UserError(
                f"the folder mixes {counts[1]} grayscale and {counts[3]} colour images; "
                "choose one with --set data.channels=3 (or 1) and all images are converted"
            )
    arrays = [a for _, a, _ in good]
    images = np.stack(arrays).astype(np.uint8)
    _warn_skipped(skipped)
    result = ImageSet(images, [p for p, _, _ in good], skipped)
    if cache_file is not None:
        try:
            cache_file.parent.mkdir(parents=True, exist_ok=True)
            with atomic_path(cache_file) as tmp:
                with open(tmp, "wb") as f:
                    np.savez(
                        f,
                        images=images,
                        paths=np.array(result.paths),
                        skipped=np.array(skipped, dtype=str).reshape(-1, 2),
                    )
        except OSError:
            pass  # a read-only cache folder only costs the next run a re-decode
    return result


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
    from keras_gans.io_utils import progbar

    print(what)
    return progbar(total, "image")
