"""Measures for an image-to-image translator (photo -> print) that a smear cannot pass.

- `degrade`: photos made to look like failed translations (blurred to ~32 px and back, pixelated, mottled with
  coloured noise, speckled at 64 px, faded towards paper, JPEG-blocked, or soft, mottled and pale at once), and
  `recolour`: a photo in a
  print's colours. They are the negatives of the print-vs-photo grader (benchmarks/ukiyoe_quality.py), so that it
  cannot call an image a print for being soft, blotchy, pale or in a print's palette;
- `central_view`: the centre square of an image (no margin or frame cue) at the grader's size;
- `edge_corr`: Pearson correlation of grayscale Sobel magnitudes between input and output (the layout kept);
- `border_band`: whether an image has an outer band (8 % of the side) much lighter and flatter than its inside
  (a painted paper margin or frame);
- `checkerboard`: how far the spectrum of an image peaks at the periods of stride-2 upsampling artefacts.
All take uint8 arrays [N, H, W, 3] and are plain numpy / PIL, deterministic given the rng.
"""

from __future__ import annotations

import io

import numpy as np
from PIL import Image

PAPER = np.array([236, 224, 196], np.float32)  # the colour of an aged print's paper
DEGRADATIONS = ("blur", "pixelate", "mottle", "speckle", "fade", "jpeg", "mix")


def _resize(img: np.ndarray, w: int, h: int, resample=Image.Resampling.BILINEAR) -> np.ndarray:
    return np.asarray(Image.fromarray(img).resize((int(w), int(h)), resample, reducing_gap=None if resample ==
                                                  Image.Resampling.NEAREST else 2.0))


def blur(img: np.ndarray, small: int = 32) -> np.ndarray:
    """Down to `small` px on the shorter side (antialiased) and back up (bilinear): a smear."""
    h, w = img.shape[:2]
    s = small / min(h, w)
    return _resize(_resize(img, max(1, round(w * s)), max(1, round(h * s)), Image.Resampling.BOX), w, h)


def pixelate(img: np.ndarray, block: int = 8) -> np.ndarray:
    """Mean colour of each block x block cell, blown up with nearest neighbour: square blocks."""
    h, w = img.shape[:2]
    small = _resize(img, max(1, w // block), max(1, h // block), Image.Resampling.BOX)
    return _resize(small, w, h, Image.Resampling.NEAREST)


def mottle(img: np.ndarray, rng: np.random.Generator, amount: float = 20.0) -> np.ndarray:
    """Softened (to 64 px) and covered with coloured noise at two scales: blotches (cells of 1/16 of the image) and
    speckle at the 64 px grid: the colour-mottled look of an under-trained 64 px CycleGAN blown up."""
    h, w = img.shape[:2]
    out = blur(img, 64).astype(np.float32)
    for cells, amp in ((16, amount), (64, amount)):
        noise = rng.normal(0.0, 1.0, (cells, cells, 3)).astype(np.float32)
        up = np.stack([np.asarray(Image.fromarray(noise[..., c], mode="F").resize((w, h), Image.Resampling.BICUBIC))
                       for c in range(3)], -1)
        out += amp * up
    return np.clip(np.round(out), 0, 255).astype(np.uint8)


def speckle(img: np.ndarray, rng: np.random.Generator, small: int = 64, amount: float = 25.0,
            nearest: bool = False) -> np.ndarray:
    """Down to `small` px, per-pixel coloured noise there, and back up (bilinear, or blocky with nearest=True): the
    speckled, grainy look of a small generator's output blown up to the photo's size."""
    h, w = img.shape[:2]
    s = small / min(h, w)
    low = _resize(img, max(1, round(w * s)), max(1, round(h * s)), Image.Resampling.BOX).astype(np.float32)
    low += rng.normal(0.0, amount, low.shape) + rng.normal(0.0, amount * 0.7, low.shape[:2] + (1,))
    low = np.clip(np.round(low), 0, 255).astype(np.uint8)
    return _resize(low, w, h, Image.Resampling.NEAREST if nearest else Image.Resampling.BILINEAR)


def fade(img: np.ndarray, amount: float = 0.55) -> np.ndarray:
    """Blended towards the paper colour: a pale, low-contrast picture in a paper tone."""
    out = img.astype(np.float32) * (1.0 - amount) + PAPER * amount
    return np.clip(np.round(out), 0, 255).astype(np.uint8)


def jpeg(img: np.ndarray, quality: int = 6, small: int = 96) -> np.ndarray:
    """JPEG at a very low quality at `small` px, shown at the original size: 8x8 blocks and ringing, enlarged."""
    h, w = img.shape[:2]
    s = small / min(h, w)
    buf = io.BytesIO()
    small_img = Image.fromarray(_resize(img, max(8, round(w * s)), max(8, round(h * s)), Image.Resampling.BOX))
    small_img.save(buf, format="JPEG", quality=int(quality))  # in memory: a degradation, not a file
    return _resize(np.asarray(Image.open(io.BytesIO(buf.getvalue())).convert("RGB")), w, h)


def colour_stats(img: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(mean, std) of each colour channel: what `recolour` carries over from a print."""
    x = img.reshape(-1, img.shape[-1]).astype(np.float32)
    return x.mean(0), x.std(0)


def recolour(img: np.ndarray, stats: tuple[np.ndarray, np.ndarray]) -> np.ndarray:
    """The photo in another picture's colours: each channel shifted and scaled to that picture's mean and spread
    (Reinhard et al. 2001, in RGB). With a print's stats: a photo in the print's palette, its structure untouched."""
    mean, std = colour_stats(img)
    out = (img.astype(np.float32) - mean) / (std + 1e-3) * stats[1] + stats[0]
    return np.clip(np.round(out), 0, 255).astype(np.uint8)


def degrade(img: np.ndarray, kind: str, rng: np.random.Generator) -> np.ndarray:
    """One uint8 image [H, W, 3] made to look like a failed translation of the given kind (strength drawn from rng)."""
    if kind == "blur":
        return blur(img, int(rng.integers(24, 41)))
    if kind == "pixelate":
        return pixelate(img, max(2, round(min(img.shape[:2]) / rng.uniform(16, 40))))
    if kind == "mottle":
        return mottle(img, rng, float(rng.uniform(12, 30)))
    if kind == "speckle":
        return speckle(img, rng, int(rng.integers(40, 81)), float(rng.uniform(12, 35)), bool(rng.random() < 0.5))
    if kind == "fade":
        return fade(blur(img, int(rng.integers(48, 97))), float(rng.uniform(0.4, 0.7)))
    if kind == "jpeg":
        return jpeg(img, int(rng.integers(4, 13)), int(rng.integers(80, 161)))
    if kind == "mix":  # all of a failed translation at once: soft, mottled and pale
        return fade(mottle(img, rng, float(rng.uniform(8, 20))), float(rng.uniform(0.15, 0.4)))
    raise ValueError(f"unknown degradation {kind!r}; one of {', '.join(DEGRADATIONS)}")


def central_view(img: np.ndarray, size: int = 128, frac: float = 0.7) -> np.ndarray:
    """The centre square of an image (side = frac x its shorter side: no margin, frame or cartouche cue), resized to
    size x size (antialiased bilinear)."""
    h, w = img.shape[:2]
    s = max(1, round(frac * min(h, w)))
    top, left = (h - s) // 2, (w - s) // 2
    crop = np.ascontiguousarray(img[top:top + s, left:left + s])
    return crop if s == size else _resize(crop, size, size, Image.Resampling.BILINEAR)


# ----- structure -----------------------------------------------------------------------------------------------------
def _gray(images) -> np.ndarray:
    x = np.asarray(images, np.float32)
    return x[..., :3] @ np.array([0.299, 0.587, 0.114], np.float32) if x.shape[-1] >= 3 else x[..., 0]


def sobel_magnitude(images) -> np.ndarray:
    """Sobel gradient magnitude of the grayscale images [N, H, W] (edge pixels replicated)."""
    g = np.pad(_gray(images), ((0, 0), (1, 1), (1, 1)), mode="edge")
    gx = (g[:, :-2, 2:] + 2 * g[:, 1:-1, 2:] + g[:, 2:, 2:]) - (g[:, :-2, :-2] + 2 * g[:, 1:-1, :-2] + g[:, 2:, :-2])
    gy = (g[:, 2:, :-2] + 2 * g[:, 2:, 1:-1] + g[:, 2:, 2:]) - (g[:, :-2, :-2] + 2 * g[:, :-2, 1:-1] + g[:, :-2, 2:])
    return np.sqrt(gx * gx + gy * gy)


def edge_corr(a, b) -> np.ndarray:
    """Per-image Pearson correlation of the Sobel magnitudes of a[i] and b[i] (same shapes): 1 = the same edges."""
    ea = sobel_magnitude(a).reshape(len(a), -1)
    eb = sobel_magnitude(b).reshape(len(b), -1)
    ea = ea - ea.mean(1, keepdims=True)
    eb = eb - eb.mean(1, keepdims=True)
    return (ea * eb).sum(1) / (np.linalg.norm(ea, axis=1) * np.linalg.norm(eb, axis=1) + 1e-8)


# ----- frames and artefacts ---------------------------------------------------------------------------------------
def border_band(images, frac: float = 0.08, lighter: float = 20.0, flatter: float = 0.75, min_sides: int = 2):
    """(flags [N] bool, sides [N] int): an image has a light border band when at least `min_sides` of its four outer
    bands (each `frac` of the side wide) are `lighter` grey levels brighter than the inside (the image without a
    band twice as wide) and flatter (their mean Sobel magnitude below `flatter` x the inside's). One light, flat side
    alone is a sky, not a frame."""
    g = _gray(images)
    e = sobel_magnitude(images)
    n, h, w = g.shape
    bh, bw = max(1, round(frac * h)), max(1, round(frac * w))
    inner = (slice(None), slice(2 * bh, h - 2 * bh), slice(2 * bw, w - 2 * bw))
    gi, ei = g[inner].reshape(n, -1).mean(1), e[inner].reshape(n, -1).mean(1)
    sides = 0
    for sl in ((slice(None), slice(0, bh)), (slice(None), slice(h - bh, h)),
               (slice(None), slice(None), slice(0, bw)), (slice(None), slice(None), slice(w - bw, w))):
        gs, es = g[sl].reshape(n, -1).mean(1), e[sl].reshape(n, -1).mean(1)
        sides = sides + ((gs - gi >= lighter) & (es <= flatter * ei)).astype(int)
    return sides >= min_sides, sides


def checkerboard(images, periods=(2, 4, 8)) -> np.ndarray:
    """Per image: the largest ratio, over the stride-2 artefact frequencies (period p px along x, y or both), of the
    spectrum's power there to the median power of its neighbourhood. About 1-3 for natural images; a grid
    pattern of a few grey levels gives tens to thousands."""
    g = _gray(images)
    g = g - g.mean(axis=(1, 2), keepdims=True)
    n, h, w = g.shape
    win = np.outer(np.hanning(h), np.hanning(w)).astype(np.float32)
    p = np.abs(np.fft.fft2(g * win)) ** 2
    out = np.zeros(n)
    for per in periods:
        fy, fx = h // per, w // per
        for ky, kx in ((fy, 0), (0, fx), (fy, fx)):
            ys = np.arange(ky - 3, ky + 4) % h
            xs = np.arange(kx - 3, kx + 4) % w
            nb = p[:, ys][:, :, xs].reshape(n, -1)
            peak = p[:, ky % h, kx % w]
            ring = np.sort(nb, 1)[:, : nb.shape[1] - 9]  # the neighbourhood without its 9 largest values
            out = np.maximum(out, peak / (np.median(ring, 1) + 1e-6))
    return out
