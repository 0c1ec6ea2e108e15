"""Reliability: kill -9 at any moment, NaN guard, same seed same pixels, and hostile image files."""

from __future__ import annotations

import csv
import os
import random
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
from PIL import Image

from conftest import REPO, tiny_config

KILL_ARGS = ["--set", "data.image_size=16", "--set", "net.dim=8", "--set", "net.latent_dim=16",
             "--set", "train.steps_per_epoch=15", "--set", "callbacks.tensorboard=false",
             "--set", "callbacks.export_at_end=false", "--set", "train.verbose=2", "--set", "callbacks.log_every=1"]


def _kill_and_resume(tmp_path, kills: int, epochs: int):
    run = tmp_path / "run"
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2")
    rng = random.Random(1234)

    def cmd():
        resume = ["--resume"] if (run / "checkpoints" / "checkpoint").is_file() else []
        return [sys.executable, "cli.py", "train", "dcgan", "--epochs", str(epochs), "--run-dir", str(run),
                *resume, *KILL_ARGS]

    for _ in range(kills):
        p = subprocess.Popen(cmd(), cwd=REPO, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(rng.uniform(5.0, 11.0))
        p.send_signal(signal.SIGKILL)
        p.wait(timeout=60)
    done = subprocess.run(cmd(), cwd=REPO, env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    return run


def _check_clean_run(run, epochs):
    rows = list(csv.DictReader(open(run / "history.csv")))
    assert [int(r["epoch"]) for r in rows] == list(range(1, epochs + 1))  # no duplicated, missing or torn rows
    for r in rows:
        assert all(v not in ("", None) for v in r.values())
    steps = [int(r["step"]) for r in csv.DictReader(open(run / "steps.csv"))]
    assert steps == sorted(set(steps)) and steps[-1] == 15 * epochs
    for e in range(1, epochs + 1):
        assert (run / "samples" / f"epoch_{e:04d}.png").is_file()
        Image.open(run / "samples" / f"epoch_{e:04d}.png").load()  # every grid is a whole PNG
    assert not [p for p in run.rglob(".*.tmp-*")]  # no temporaries left
    from keras_gans.training.build import load_run

    _, _, epoch = load_run(run)
    assert epoch == epochs


def test_kill9_once_then_resume(tmp_path):
    run = _kill_and_resume(tmp_path, kills=1, epochs=3)
    _check_clean_run(run, 3)


@pytest.mark.slow
def test_kill9_several_times_then_resume(tmp_path):
    run = _kill_and_resume(tmp_path, kills=4, epochs=6)
    _check_clean_run(run, 6)


class _InjectNaN:
    """At the first batch of epoch `at`, poison one D kernel (once)."""

    def __new__(cls, at):
        import keras

        class Inject(keras.callbacks.Callback):
            fired = False

            def on_epoch_begin(self, epoch, logs=None):
                self.epoch = epoch

            def on_train_batch_begin(self, batch, logs=None):
                if self.epoch == at and not Inject.fired:
                    Inject.fired = True
                    w = self.model.discriminator.trainable_variables[0]
                    w.assign(np.full(w.shape, np.nan, np.float32))

        return Inject()


def test_nan_guard_restores_and_continues(tmp_path, capsys):
    from keras_gans.training.driver import train

    cfg = tiny_config(train={"epochs": 3, "g_lr": 2e-4, "d_lr": 2e-4}, watchdog={"on_nan": "restore", "nan_lr_factor": 0.5})
    model, run, hist = train(cfg, tmp_path / "run", verbose=0, extra_callbacks=[_InjectNaN(at=1)])
    err = capsys.readouterr().err
    assert "NaN guard: restored epoch 1" in err
    assert float(model.d_optimizer.learning_rate.numpy()) == pytest.approx(1e-4)
    assert all(np.isfinite(w).all() for w in model.discriminator.get_weights())
    rows = list(csv.DictReader(open(run / "history.csv")))
    assert [int(r["epoch"]) for r in rows] == [1, 2, 3]
    assert all(np.isfinite(float(r["d_loss"])) for r in rows)


def test_nan_stop_is_a_clear_error(tmp_path):
    from keras_gans.core.errors import UserError
    from keras_gans.training.driver import train

    cfg = tiny_config(train={"epochs": 2})
    with pytest.raises(UserError, match="non-finite.*--resume"):
        train(cfg, tmp_path / "run", verbose=0, extra_callbacks=[_InjectNaN(at=1)])
    # the good epoch-1 checkpoint is still there, and the NaN epoch was not checkpointed
    assert (tmp_path / "run" / "checkpoints" / "ckpt-1.index").is_file()
    assert not (tmp_path / "run" / "checkpoints" / "ckpt-2.index").exists()


def test_same_seed_same_first_grid(tmp_path):
    from keras_gans.training.driver import train

    for name in ("a", "b"):
        train(tiny_config(train={"seed": 5}), tmp_path / name, verbose=0)
    train(tiny_config(train={"seed": 6}), tmp_path / "c", verbose=0)
    a, b, c = (np.asarray(Image.open(tmp_path / n / "samples" / "epoch_0001.png")) for n in "abc")
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)


# ----- hostile inputs: each gets a clear message or a documented conversion, never a traceback ---------------

def _write_cases(d):
    """name -> expected outcome: ('skip', reason fragment) or ('ok', check function)."""
    d.mkdir()
    Image.fromarray(np.full((24, 24), 128, np.uint8)).save(d / "good.png")
    buf = d / "full.jpg"
    Image.fromarray(np.full((32, 32, 3), 200, np.uint8)).save(buf, quality=90)
    (d / "truncated.jpg").write_bytes(buf.read_bytes()[:150])
    buf.unlink()
    (d / "zero.png").write_bytes(b"")
    (d / "text.png").write_text("this is not an image\n")
    # huge dimensions: a valid PNG header claiming 100000 x 100000 pixels
    import struct
    import zlib

    def chunk(t, data):
        return struct.pack(">I", len(data)) + t + data + struct.pack(">I", zlib.crc32(t + data) & 0xFFFFFFFF)

    ihdr = struct.pack(">IIBBBBB", 100000, 100000, 8, 0, 0, 0, 0)
    (d / "huge.png").write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IEND", b""))
    # 16-bit grey: 65535 must become 255, 32768 about 128
    a16 = np.full((24, 24), 32768, np.uint16)
    a16[:, :12] = 65535
    Image.fromarray(a16).save(d / "sixteen.png")
    # palette + transparency: transparent pixels become white
    pal = Image.new("P", (24, 24), 1)
    pal.putpalette([0, 0, 0] + [10, 10, 10] + [0] * 762)
    pal.info["transparency"] = 1
    pal.save(d / "palette_alpha.png", transparency=1)
    # RGBA: alpha composited on white
    rgba = np.zeros((24, 24, 4), np.uint8)
    rgba[..., 3] = 0
    Image.fromarray(rgba, "RGBA").save(d / "alpha.png")
    # EXIF-rotated JPEG: stored 24 wide x 12 high with orientation 6 (rotate 90) -> displayed 12 wide x 24 high
    rot = np.zeros((12, 24), np.uint8)
    rot[:, :12] = 255  # left half white as stored
    exif = Image.Exif()
    exif[0x0112] = 6
    Image.fromarray(rot).save(d / "rotated.jpg", exif=exif.tobytes(), quality=95)


def test_hostile_image_matrix(tmp_path):
    import warnings

    from keras_gans.data.images import find_images, load_images

    d = tmp_path / "hostile"
    _write_cases(d)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        s = load_images(find_images(d), 24, channels=1, cache_dir=False)
    reasons = {os.path.basename(p): r for p, r in s.skipped}
    assert set(reasons) == {"truncated.jpg", "zero.png", "text.png", "huge.png"}
    assert "empty file" in reasons["zero.png"]
    assert "not a decodable image" in reasons["text.png"]
    assert "not a decodable image" in reasons["truncated.jpg"]
    assert "too large" in reasons["huge.png"]
    assert len([w for w in caught if "skipped" in str(w.message)]) == 4
    got = dict(zip((os.path.basename(p) for p in s.paths), s.images))
    assert set(got) == {"good.png", "sixteen.png", "palette_alpha.png", "alpha.png", "rotated.jpg"}
    assert got["sixteen.png"][:, :10].min() == 255 and abs(int(got["sixteen.png"][:, 14:].mean()) - 128) <= 1
    assert got["palette_alpha.png"].min() == 255 and got["alpha.png"].min() == 255  # transparent -> white
    # after EXIF rotation the image is portrait; centre-crop of a 90-degree rotated half-white image:
    # the white half is now at the top (orientation 6 = rotate 270 clockwise as stored)
    r = got["rotated.jpg"][..., 0].astype(int)
    assert abs(r[:4].mean() - r[-4:].mean()) > 150


def test_hostile_folder_fail_mode_names_the_file(tmp_path):
    from keras_gans.data.images import find_images, load_images
    from keras_gans.core.errors import UserError

    d = tmp_path / "hostile"
    _write_cases(d)
    with pytest.raises(UserError, match=r"(truncated|zero|text|huge)\.\w+: .*on_bad_file=skip.*\(4 bad files"):
        load_images(find_images(d), 24, channels=1, on_bad_file="fail", cache_dir=False)
