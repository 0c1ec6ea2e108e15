"""Two unpaired image domains the project draws itself, so `train cyclegan` and `transfer` run offline.

Every image is a random landscape scene (sky, sun or moon, two mountain ridges, a shore, water with waves),
described by a region map. The scene is then rendered in one of two styles:

- domain A, "photos": smooth colour fields with vertical gradients, soft region edges, light sensor noise and
  natural, jittered colours (a toy version of a landscape photograph);
- domain B, "prints": the same kind of scene as a woodblock print: a few flat colours from an ukiyo-e palette
  (prussian blue, indigo, vermilion, ochre, cream paper), a banded (posterised) sky gradient, dark ink outlines on
  every region boundary, stylised wave lines and paper grain.

A and B are drawn from different scene seeds, so they are unpaired, like photo/ukiyo-e collections: CycleGAN has
to learn the style change (posterise, outline, re-colour) and back. Registered as the built-in data set `scenes`
(`data.builtin: scenes`), labelled {'domain': 0 for A, 1 for B}.
"""

from __future__ import annotations

import numpy as np

from keras_gans.data.images import ImageSet

SKY, SUN, FAR, NEAR, SHORE, WATER = range(6)
PAPER = np.array([236, 224, 196], np.float32)
INK = np.array([34, 32, 38], np.float32)
PRINT_PALETTE = {
    SKY: np.array([52, 84, 132], np.float32),  # prussian blue (banded towards the paper colour)
    SUN: np.array([204, 72, 52], np.float32),  # vermilion
    FAR: np.array([92, 112, 140], np.float32),  # grey indigo
    NEAR: np.array([118, 120, 68], np.float32),  # olive
    SHORE: np.array([196, 160, 96], np.float32),  # ochre
    WATER: np.array([36, 72, 120], np.float32),  # deep blue
}


def _scene(rng: np.random.Generator, size: int):
    """(region map [size, size] int, yy, xx, wave field) of one random landscape."""
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float32) / size
    regions = np.full((size, size), SKY, np.int32)
    horizon = rng.uniform(0.55, 0.72)

    def ridge(base, amp, n_waves):
        y = np.full_like(xx[0], base)
        for _ in range(n_waves):
            f, ph, a = rng.uniform(1.0, 5.0), rng.uniform(0, 2 * np.pi), rng.uniform(0.3, 1.0) * amp
            y += a * np.sin(2 * np.pi * f * xx[0] + ph)
        return y

    far = ridge(horizon - rng.uniform(0.15, 0.3), 0.08, 3)
    near = ridge(horizon - rng.uniform(0.02, 0.1), 0.05, 3)
    cx, cy, r = rng.uniform(0.15, 0.85), rng.uniform(0.1, 0.3), rng.uniform(0.05, 0.11)
    regions[(xx - cx) ** 2 + (yy - cy) ** 2 < r * r] = SUN
    regions[yy > far[None, :]] = FAR
    regions[yy > near[None, :]] = NEAR
    shore_edge = horizon + 0.04 * np.sin(2 * np.pi * rng.uniform(0.5, 2.0) * xx + rng.uniform(0, 6))
    regions[(yy > horizon - 0.01) & (xx < rng.uniform(0.2, 0.6)) & (yy < shore_edge + 0.08)] = SHORE
    regions[yy > shore_edge + 0.08] = WATER
    regions[(yy > horizon) & (regions != SHORE) & (regions != WATER)] = WATER
    waves = np.sin(2 * np.pi * (rng.uniform(8, 14) * yy + 0.6 * np.sin(2 * np.pi * rng.uniform(1, 3) * xx)))
    return regions, yy, xx, waves


def _blur(img: np.ndarray, passes: int) -> np.ndarray:
    for _ in range(passes):
        img = (img + np.roll(img, 1, 0) + np.roll(img, -1, 0) + np.roll(img, 1, 1) + np.roll(img, -1, 1)) / 5.0
    return img


def render_photo(rng: np.random.Generator, size: int) -> np.ndarray:
    regions, yy, xx, waves = _scene(rng, size)
    warm = rng.uniform(0, 1)  # time of day: 0 = midday blue, 1 = evening
    sky_top = np.array([40, 90, 170]) * (1 - warm) + np.array([70, 60, 120]) * warm
    sky_low = np.array([170, 205, 235]) * (1 - warm) + np.array([245, 170, 120]) * warm
    t = np.clip(yy / 0.7, 0, 1)[..., None]
    img = sky_top * (1 - t) + sky_low * t
    jitter = lambda c: np.clip(np.array(c, np.float32) + rng.normal(0, 12, 3), 0, 255)  # noqa: E731
    colours = {
        SUN: jitter([255, 240, 200] if warm < 0.5 else [255, 200, 120]),
        FAR: jitter([110, 130, 150]), NEAR: jitter([60, 110, 50]), SHORE: jitter([200, 180, 140]),
        WATER: jitter([40, 90, 140]),
    }
    for reg, c in colours.items():
        m = regions == reg
        shade = 1.0 - 0.35 * (yy - yy[m].min() if m.any() else 0)[..., None]
        if reg == WATER:
            shade = shade + 0.06 * waves[..., None]
        img = np.where(m[..., None], c * shade, img)
    img = _blur(img.astype(np.float32), max(1, size // 64))
    img += rng.normal(0, 4.0, img.shape)
    return np.clip(img, 0, 255).astype(np.uint8)


def render_print(rng: np.random.Generator, size: int) -> np.ndarray:
    regions, yy, xx, waves = _scene(rng, size)
    img = np.zeros((size, size, 3), np.float32)
    bands = np.floor(np.clip(yy / 0.55, 0, 0.999) * 3) / 2.0  # bokashi: 3 flat bands from blue to paper
    sky = PRINT_PALETTE[SKY] * (1 - bands[..., None]) + PAPER * bands[..., None]
    img[:] = sky
    for reg in (SUN, FAR, NEAR, SHORE, WATER):
        img[regions == reg] = PRINT_PALETTE[reg] + rng.normal(0, 6, 3)
    crest = (regions == WATER) & (waves > 0.85)
    img[crest] = PAPER  # white wave crests
    edge = np.zeros_like(regions, bool)
    edge[1:] |= regions[1:] != regions[:-1]
    edge[:, 1:] |= regions[:, 1:] != regions[:, :-1]
    for _ in range(max(0, size // 96)):  # thicker ink lines on larger images
        edge[1:] |= edge[:-1].copy()
        edge[:, 1:] |= edge[:, :-1].copy()
    img[edge] = INK
    grain = rng.normal(0, 5.0, (size, size, 1)) + 4.0 * np.sin(2 * np.pi * 40 * xx)[..., None]
    return np.clip(img + grain, 0, 255).astype(np.uint8)


def make_domain(domain: str, n: int, size: int, seed: int = 0) -> np.ndarray:
    """n uint8 images [n, size, size, 3] of domain 'a' (photos) or 'b' (prints); different seeds per domain."""
    render = {"a": render_photo, "b": render_print}[domain]
    base = {"a": 11, "b": 23}[domain]
    return np.stack([render(np.random.default_rng([int(seed), base, i]), size) for i in range(n)])


def load_scenes(size: int = 64, channels: int | None = None, seed: int = 0, n: int = 400, **_) -> ImageSet:
    """The built-in `scenes` set: n photos (domain 0) then n prints (domain 1), labelled 'domain'."""
    a, b = make_domain("a", n, size, seed), make_domain("b", n, size, seed)
    images = np.concatenate([a, b])
    if channels == 1:
        images = np.round(images.astype(np.float32) @ np.array([0.299, 0.587, 0.114], np.float32))
        images = images.astype(np.uint8)[..., None]
    domain = np.repeat(np.array([0, 1], np.int32), n)
    paths = [f"scenes/{'photo' if d == 0 else 'print'}/{i % n:04d}" for i, d in enumerate(domain)]
    return ImageSet(images, paths, labels={"domain": domain})
