"""The measures behind the photo -> ukiyo-e grader (keras_gans/metrics/translation.py): each degradation does what
its name says (so the grader's negatives are what they claim), and the structure, frame and checkerboard checks
tell the cases apart they are used for."""

from __future__ import annotations

import numpy as np
import pytest

from keras_gans.metrics import translation as T


def textured(seed=0, size=128, block=True):
    """A photo-like test image: smooth colour gradients plus fine texture and (block=True) a dark block whose place
    depends on the seed."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:size, 0:size] / size
    img = np.stack([120 + 80 * xx, 100 + 60 * yy, 140 - 50 * xx * yy], -1)
    img += rng.normal(0, 18, (size, size, 3))
    if block:
        y, x = rng.integers(0, size // 2, 2)
        img[y: y + size // 5, x: x + size // 3] = [30, 40, 50]
    return np.clip(img, 0, 255).astype(np.uint8)


def edge_energy(img):
    return float(T.sobel_magnitude(img[None]).mean())


def test_blur_smears_to_about_32_px():
    img = textured()
    out = T.blur(img, 32)
    assert out.shape == img.shape and out.dtype == np.uint8
    assert edge_energy(out) < 0.3 * edge_energy(img)
    assert abs(float(out.mean()) - float(img.mean())) < 3  # the colours stay, the detail goes


def test_pixelate_makes_flat_square_blocks():
    img = textured(size=128)
    out = T.pixelate(img, 8).astype(int)
    blocks = out.reshape(16, 8, 16, 8, 3)
    assert np.all(blocks.max(axis=(1, 3)) == blocks.min(axis=(1, 3)))  # every 8x8 cell one colour
    assert len(np.unique(out.reshape(-1, 3), axis=0)) > 50  # but not one colour overall


def test_mottle_adds_coloured_blotches():
    flat = np.full((128, 128, 3), 128, np.uint8)
    out = T.mottle(flat, np.random.default_rng(0), 25.0).astype(np.float32)
    assert out.std(axis=(0, 1)).min() > 8  # blotches in every channel
    chroma = out - out.mean(-1, keepdims=True)
    assert np.abs(chroma).mean() > 5  # coloured, not grey
    n = out - out.mean(axis=(0, 1))
    neighbour = (n[:, :-1] * n[:, 1:]).mean() / (n * n).mean()
    assert neighbour > 0.5  # blotches spread over several pixels, not per-pixel noise


def test_fade_goes_towards_paper_and_loses_contrast():
    img = textured()
    out = T.fade(img, 0.6).astype(np.float32)
    d_before = np.abs(img.reshape(-1, 3).mean(0) - T.PAPER).mean()
    d_after = np.abs(out.reshape(-1, 3).mean(0) - T.PAPER).mean()
    assert d_after == pytest.approx(0.4 * d_before, abs=1.5)
    np.testing.assert_allclose(out.std(axis=(0, 1)), 0.4 * img.astype(np.float32).std(axis=(0, 1)), rtol=0.05)


def test_jpeg_blocks_show_on_the_8px_grid():
    img = textured(size=96)
    out = T.jpeg(img, quality=4, small=96).astype(np.float32)  # at its own size: the 8x8 grid is not resampled
    dx = np.abs(np.diff(out, axis=1)).mean(axis=(0, 2))  # [95]: the step between column i and i+1
    on_grid = dx[7::8].mean()
    off_grid = np.delete(dx, np.arange(7, 95, 8)).mean()
    assert on_grid > 1.3 * off_grid


def test_recolour_carries_a_prints_palette_over():
    img = textured()
    target = (np.array([180.0, 160.0, 120.0]), np.array([30.0, 25.0, 20.0]))
    mean, std = T.colour_stats(T.recolour(img, target))
    np.testing.assert_allclose(mean, target[0], atol=2.5)
    np.testing.assert_allclose(std, target[1], atol=2.5)
    assert T.edge_corr(img[None], T.recolour(img, target)[None])[0] > 0.9  # the structure stays


@pytest.mark.parametrize("kind", T.DEGRADATIONS)
def test_every_degradation_changes_the_image_and_keeps_its_shape(kind):
    img = textured()
    out = T.degrade(img, kind, np.random.default_rng(1))
    assert out.shape == img.shape and out.dtype == np.uint8
    assert np.abs(out.astype(int) - img).mean() > 5


def test_unknown_degradation_is_an_error():
    with pytest.raises(ValueError, match="unknown degradation"):
        T.degrade(textured(), "sepia", np.random.default_rng(0))


def test_central_view_leaves_a_frame_out():
    img = textured(size=200)[:, :160].copy()
    img[:20], img[-20:], img[:, :16], img[:, -16:] = 255, 255, 255, 255  # a 10 % paper frame
    view = T.central_view(img, 128)
    assert view.shape == (128, 128, 3)
    assert (view.min(-1) >= 250).mean() < 0.001


def test_edge_corr_one_for_the_same_image_and_near_zero_for_another():
    a, b = textured(0), textured(7)
    assert T.edge_corr(a[None], a[None])[0] == pytest.approx(1.0, abs=1e-5)
    smear = T.blur(a, 16)
    assert T.edge_corr(a[None], smear[None])[0] < 0.6
    assert abs(T.edge_corr(a[None], b[None])[0]) < 0.2


def test_border_band_finds_frames_not_skies():
    img = textured(3, 256)
    framed = img.copy()
    b = 20
    framed[:b], framed[-b:], framed[:, :b], framed[:, -b:] = 230, 230, 230, 230
    sky = img.copy()
    sky[:60] = [200, 215, 235]  # one light, flat side: the top of a landscape photo
    flags, sides = T.border_band(np.stack([img, framed, sky]))
    assert flags.tolist() == [False, True, False]
    assert sides.tolist()[1] == 4 and sides.tolist()[2] == 1


def test_checkerboard_sees_a_faint_grid():
    img = textured(4, 256, block=False)
    yy, xx = np.mgrid[0:256, 0:256]
    grid4 = np.where(((yy // 2) + (xx // 2)) % 2 == 0, 4, -4)[..., None]  # period 4, +-4 grey levels
    grid2 = np.where((yy + xx) % 2 == 0, 3, -3)[..., None]
    imgs = np.stack([img, np.clip(img + grid4, 0, 255), np.clip(img + grid2, 0, 255)]).astype(np.uint8)
    score = T.checkerboard(imgs)
    assert score[0] < 10
    assert score[1] > 30 and score[2] > 30


def test_speckle_is_grain_at_the_small_size():
    img = textured(5, 256)
    rng = np.random.default_rng(0)
    out = T.speckle(img, rng, small=64, amount=30.0, nearest=True).astype(np.float32)
    blocks = out.reshape(64, 4, 64, 4, 3)
    assert np.all(blocks.max(axis=(1, 3)) == blocks.min(axis=(1, 3)))  # nearest: 4x4 blocks of one colour
    clean = T.blur(img, 64).astype(np.float32)
    assert np.abs(out - clean).mean() > 15  # grain of about the given strength on the 64 px picture
    soft = T.speckle(img, rng, small=64, amount=30.0).astype(np.float32)
    assert np.abs(np.diff(soft, axis=1)).mean() < np.abs(np.diff(out, axis=1)).mean()


def test_grader_views_stay_inside_the_margins_and_cover_the_interior():
    """The ukiyo-e grader's 10 views (benchmarks/ukiyoe_quality.py): 128 px squares, five places each mirrored, none
    reaching into the outer 10 % where a frame or a cartouche sits, and each sees its own part of it."""
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "benchmarks"))
    from ukiyoe_quality import VIEW, grader_views

    img = np.full((200, 300, 3), 255, np.uint8)  # a white frame ...
    img[20:180, 30:270] = 0  # ... around a black interior
    img[20:60, 30:100, 0] = 200  # a red patch in the top-left corner of it
    views = grader_views(img)
    assert len(views) == 10 and all(v.shape == (VIEW, VIEW, 3) for v in views)
    assert max(int(v[..., 1].max()) for v in views) <= 8  # no white from the frame in any view
    reds = [float(v[..., 0].mean()) for v in views]
    assert reds[1] > 20 and reds[4] < 1  # the top-left view sees the red patch, the bottom-right does not
    np.testing.assert_array_equal(views[5], views[0][:, ::-1])  # the mirrored half
