"""Issue 30, item 6: memory on big photos. transfer and the demo decode a photo at most PHOTO_MAX_PIXELS big (JPEG:
Pillow's draft mode, never the full-size pixels), scale the result back to the photo's size in uint8, and refuse a
photo over TRANSFER_MAX_PIXELS with that limit in the reason. Measured with a NumPy translator in a subprocess (no
TensorFlow: the photo's own share of the memory); the full CLI numbers are in docs/reliability.md."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

from conftest import REPO


def photo_like(path, w, h, mode="RGB"):
    """A smooth picture (small as a JPEG, unlike noise) of w x h."""
    x = np.linspace(0, 255, w, dtype=np.float32)[None, :]
    y = np.linspace(0, 255, h, dtype=np.float32)[:, None]
    if mode == "L":
        a = ((x + y) / 2).astype(np.uint8)
    else:
        a = np.stack([np.broadcast_to(x, (h, w)), np.broadcast_to(y, (h, w)), ((x + y) / 2)], -1).astype(np.uint8)
    Image.fromarray(a, mode).save(path, quality=90)
    return path


PEAK = """
import json, sys
sys.path.insert(0, {repo!r})
from keras_gans.commands.transfer import transfer_file
seen = []
def translate(x):
    seen.append(list(x.shape))
    return 255 - x
out, notes = transfer_file(sys.argv[1], translate, 3)
hwm = [l for l in open("/proc/self/status") if l.startswith("VmHWM:")][0].split()[1]  # ru_maxrss survives exec
print(json.dumps({{"seen": seen, "size": list(out.size), "peak_mb": int(hwm) / 1024}}))
"""


def test_a_6000x4000_photo_is_decoded_reduced_and_written_at_its_size(tmp_path):
    from keras_gans.data.images import PHOTO_MAX_PIXELS

    src = photo_like(tmp_path / "big.jpg", 6000, 4000)
    r = subprocess.run([sys.executable, "-c", PEAK.format(repo=str(REPO)), str(src)], capture_output=True, text=True,
                       timeout=120)
    assert r.returncode == 0, r.stderr[-2000:]
    got = json.loads(r.stdout.strip().splitlines()[-1])
    (_, h, w, _), = got["seen"]
    assert h * w <= PHOTO_MAX_PIXELS and abs(w / h - 1.5) < 0.01, got  # the model sees at most 1 Mpx, aspect kept
    assert got["size"] == [6000, 4000]
    # the photo's share: the 6000x4000 result (4 bytes a pixel in Pillow, 96 MB) and little else (measured 161 MB
    # with Python, NumPy and Pillow); a full-size decode, its array, the translated copy and the result took 400 MB
    assert got["peak_mb"] < 230, got


def test_a_small_photo_is_not_resampled(tmp_path):
    from keras_gans.commands.transfer import transfer_file

    src = photo_like(tmp_path / "small.png", 300, 200)
    seen = []
    out, notes = transfer_file(src, lambda x: seen.append(x) or 255 - x, 3)
    original = np.asarray(Image.open(src).convert("RGB"))
    np.testing.assert_array_equal(seen[0][0], original)
    np.testing.assert_array_equal(np.asarray(out), 255 - original)
    assert notes == []


def test_exif_rotated_big_jpeg_keeps_its_shown_size(tmp_path):
    """A portrait photo stored landscape with EXIF orientation 6: the result has the size the photo is shown at."""
    from keras_gans.commands.transfer import transfer_file

    a = np.zeros((1500, 2000, 3), np.uint8)
    img = Image.fromarray(a)
    exif = img.getexif()
    exif[0x0112] = 6
    img.save(tmp_path / "rot.jpg", exif=exif)
    out, _ = transfer_file(tmp_path / "rot.jpg", lambda x: x, 3)
    assert out.size == (1500, 2000)


def test_a_photo_over_the_limit_is_refused_with_the_limit(tmp_path):
    from keras_gans.commands.transfer import transfer_file
    from keras_gans.data.images import TRANSFER_MAX_PIXELS, BadImage

    src = photo_like(tmp_path / "huge.jpg", 8000, 6000, mode="L")  # 48 megapixels
    assert 8000 * 6000 > TRANSFER_MAX_PIXELS
    with pytest.raises(BadImage, match="the largest accepted is 40 megapixels"):
        transfer_file(src, lambda x: x, 3)
