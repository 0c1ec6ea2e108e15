"""Issue 30, items 1, 4, 5 and 8: whole files or none on a full disk, one line for an unwritable output folder,
formats chosen by the extension, messages that name the target, killed writers' temporaries swept, notes for what a
conversion drops, and advice that can be followed.

The full disk is a real one (a small tmpfs, as root; skipped cleanly where mounting is not allowed) and, for the
checked write itself, a file descriptor that accepts only N bytes. `transfer` runs with its translator replaced by a
NumPy function, so these tests need no TensorFlow model and take seconds.
"""

from __future__ import annotations

import errno
import io
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from conftest import REPO, assert_user_error, run_cli
from test_reliability_disk import _mount, fill

FORMATS = {".png": b"\x89PNG", ".jpg": b"\xff\xd8", ".jpeg": b"\xff\xd8", ".webp": b"RIFF", ".gif": b"GIF8"}


def noise(h=128, w=128, c=3, seed=0):
    return np.random.default_rng(seed).integers(0, 256, (h, w, c), dtype=np.uint8)


@pytest.fixture
def tiny_fs(tmp_path):
    """A 1 MB file system of its own, to fill."""
    mnt = tmp_path / "tiny"
    _mount(mnt)  # 16 MB
    yield mnt
    subprocess.run(["umount", "-l", str(mnt)], check=False)


@pytest.fixture
def ro_dir(tmp_path):
    d = tmp_path / "ro"
    if os.geteuid() != 0:
        pytest.skip("a read-only mount needs root")
    _mount(d, "ro")
    yield d
    subprocess.run(["umount", "-l", str(d)], check=False)


def temps(folder):
    return [p for p in Path(folder).rglob(".*.tmp-*")]


# ----- item 1: one writer, whole files or none ---------------------------------------------------------------------
@pytest.mark.parametrize("ext", [".png", ".jpg", ".webp", ".gif"])
def test_full_disk_leaves_no_torn_image_in_any_format(tiny_fs, ext):
    """4,096 bytes free and an image that encodes to more: OSError ENOSPC naming the target, no file, no temporary.
    (Pillow 12's JPEG encoder, writing to a file itself, 'saved' a torn 4,096-byte JPEG here.)"""
    from keras_gans.core.io_utils import disk_error, encode_image, save_image

    image = noise(160, 160)
    assert len(encode_image(image, {".jpg": "JPEG", ".png": "PNG", ".webp": "WEBP", ".gif": "GIF"}[ext])) > 8192
    fill(tiny_fs, keep=4096)
    target = tiny_fs / f"out{ext}"
    with pytest.raises(OSError) as info:
        save_image(target, image)
    assert info.value.errno == errno.ENOSPC
    assert not target.exists() and not temps(tiny_fs), os.listdir(tiny_fs)
    assert disk_error(info.value)["path"] == str(target)  # the target, never '.out.jpg.tmp-...'


def test_checked_write_against_a_descriptor_that_takes_n_bytes(tmp_path, monkeypatch):
    """A disk that takes only part of a write and then nothing (os.write returns a short count, then 0): the writer
    raises ENOSPC and publishes nothing, for every format."""
    from keras_gans.core import io_utils

    real_write = os.write
    budget = {"left": 3000}

    def stingy_write(fd, data):
        n = min(len(data), budget["left"], 1000)
        budget["left"] -= n
        return real_write(fd, bytes(data[:n])) if n else 0

    monkeypatch.setattr(io_utils.os, "write", stingy_write)
    for ext in FORMATS:
        budget["left"] = 3000
        target = tmp_path / f"x{ext}"
        with pytest.raises(OSError) as info:
            io_utils.save_image(target, noise())
        assert info.value.errno == errno.ENOSPC and not target.exists() and not temps(tmp_path)
    budget["left"] = 10**9
    io_utils.save_image(tmp_path / "ok.jpg", noise())  # short writes that go on are retried, not lost
    assert Image.open(tmp_path / "ok.jpg").size == (128, 128)


def test_every_image_is_written_through_the_one_writer():
    """No module of the package encodes an image straight to a file: every PIL save goes to memory (a BytesIO)
    and then through io_utils.save_image / atomic_write_bytes."""
    offenders = []
    for p in (REPO / "keras_gans").rglob("*.py"):
        for i, line in enumerate(p.read_text().splitlines(), 1):
            if re.search(r"\.save\((?!buf\b)", line) and not re.search(r"(model|ckpt|manager|archive)\.save\(", line):
                offenders.append(f"{p.relative_to(REPO)}:{i}: {line.strip()}")
            if re.search(r"savefig\((?!buf\b)", line) or re.search(r"\.write_bytes\(", line):
                offenders.append(f"{p.relative_to(REPO)}:{i}: {line.strip()}")
    assert not offenders, "\n".join(offenders)


# ----- transfer (the command of item 1 and item 4), with a NumPy translator ----------------------------------------
@pytest.fixture
def fake_translator(monkeypatch):
    """transfer's model replaced by 255 - x (counts its calls): the command's reading and writing paths are real."""
    from keras_gans.commands import transfer as tr

    calls = {"n": 0, "loaded": 0}

    def load(*args, **kwargs):
        calls["loaded"] += 1

        def translate(x):
            calls["n"] += 1
            return 255 - x

        return translate, 3, "a test translator", "b2a"

    monkeypatch.setattr(tr, "load_translator", load)
    return calls


def photos(folder, n=5, size=(150, 120)):
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(n):
        Image.fromarray(noise(size[1], size[0], seed=i)).save(folder / f"p{i}.jpg", quality=95)
    return folder


def test_transfer_on_a_filling_disk_stops_with_whole_files(tiny_fs, tmp_path, fake_translator):
    src = photos(tmp_path / "in")
    one = len(io.BytesIO(open(src / "p0.jpg", "rb").read()).getvalue())
    fill(tiny_fs, keep=int(one * 2.2))  # room for about two of the five
    res = run_cli("transfer", "ukiyoe", "--input", src, "--output", tiny_fs / "out")
    assert_user_error(res, "no space left", "of 5 image(s) were written", str(tiny_fs / "out"), last_line=True)
    assert ".tmp-" not in res.stderr
    written = sorted((tiny_fs / "out").glob("*.jpg"))
    assert f"; {len(written)} of 5 image(s)" in res.stderr and len(written) < 5
    for p in written:  # every file that exists is whole
        Image.open(p).load()
        assert Image.open(p).size == (150, 120)
    assert not temps(tiny_fs)


def test_transfer_to_a_read_only_folder_is_one_line_before_the_model_loads(ro_dir, tmp_path, fake_translator):
    """Item 4: 5 photos into a read-only folder: one line (it was one [Errno 30] line per photo plus blank lines)."""
    src = photos(tmp_path / "in")
    res = run_cli("transfer", "ukiyoe", "--input", src, "--output", ro_dir / "out")
    assert_user_error(res, f"--output {ro_dir / 'out'}", "read-only")
    assert fake_translator["loaded"] == 0 and "\n\n" not in res.output


def test_transfer_notes_what_it_drops(tmp_path, fake_translator):
    """Item 5: an animated GIF's other frames and a PNG's transparency: one note line each; an opaque RGBA, none."""
    src = tmp_path / "in"
    src.mkdir()
    frames = [Image.fromarray(noise(40, 40, seed=s)) for s in range(3)]
    frames[0].save(src / "anim.gif", save_all=True, append_images=frames[1:], duration=50)
    rgba = np.dstack([noise(40, 40), np.full((40, 40, 1), 255, np.uint8)])
    rgba[:10, :, 3] = 0
    Image.fromarray(rgba).save(src / "alpha.png")
    Image.fromarray(np.dstack([noise(40, 40), np.full((40, 40, 1), 255, np.uint8)])).save(src / "opaque.png")
    for name in ("anim.gif", "alpha.png", "opaque.png"):
        res = run_cli("transfer", "ukiyoe", "--input", src / name, "--output", tmp_path / "out")
        assert res.exit_code == 0, res.output
        notes = [ln for ln in res.stderr.splitlines() if ln.startswith("note:")]
        if name == "anim.gif":
            assert len(notes) == 1 and "3 frames" in notes[0] and "first frame" in notes[0], res.stderr
        elif name == "alpha.png":
            assert len(notes) == 1 and "composited on white" in notes[0], res.stderr
        else:
            assert notes == [], res.stderr
    assert Image.open(tmp_path / "out" / "anim.png").size == (40, 40)


# ----- item 5: formats, names in messages, temporaries of killed writers ------------------------------------------
@pytest.fixture(scope="module")
def latent_export(tmp_path_factory):
    from conftest import tiny_config

    from keras_gans.export.savedmodel import export_model
    from keras_gans.training.build import build_model

    out = tmp_path_factory.mktemp("exports")
    return export_model(build_model(tiny_config(), {"image_shape": [16, 16, 1], "n_images": 8}), out, "latent", 1)


@pytest.mark.parametrize("ext", [".png", ".jpg", ".jpeg", ".webp"])
def test_sample_extension_chooses_the_format(latent_export, tmp_path, ext):
    out = tmp_path / f"grid{ext}"
    res = run_cli("sample", latent_export, "--n", 4, "--out", out)
    assert res.exit_code == 0, res.output
    assert out.read_bytes().startswith(FORMATS[ext])
    assert Image.open(out).format == {".png": "PNG", ".jpg": "JPEG", ".jpeg": "JPEG", ".webp": "WEBP"}[ext]


def test_sample_refuses_an_unknown_extension_at_once(tmp_path):
    res = run_cli("sample", tmp_path, "--out", tmp_path / "grid.tif")  # tmp_path is no model: checked first
    assert_user_error(res, "grid.tif", ".png, .jpg, .jpeg, .webp")
    assert not (tmp_path / "grid.tif").exists()


def test_sample_full_disk_names_the_file(latent_export, tiny_fs):
    fill(tiny_fs, keep=0)
    res = run_cli("sample", latent_export, "--n", 4, "--out", tiny_fs / "grid.png")
    assert_user_error(res, f"could not write {tiny_fs / 'grid.png'}", "no space left")
    assert ".tmp-" not in res.stderr


def test_messages_name_the_target_not_a_temporary(ro_dir):
    from keras_gans.core.io_utils import atomic_dir, atomic_write_bytes, disk_error, target_of

    with pytest.raises(OSError) as info:
        atomic_write_bytes(ro_dir / "x.png", b"123")
    assert disk_error(info.value)["path"] == str(ro_dir / "x.png")
    with pytest.raises(OSError) as info:
        with atomic_dir(ro_dir / "sm" / "2"):
            pass
    assert ".tmp-" not in disk_error(info.value)["path"]
    # TensorFlow's errors name the file inside our temporary folder: the message names the export's own path
    assert target_of("/a/sm/.2.tmp-123@h-x1y2/variables/variables.data") == "/a/sm/2/variables/variables.data"
    assert target_of("/a/.x.png.tmp-9@h-abc.png") == "/a/x.png"


def test_killed_exports_temporaries_are_swept(tmp_path):
    """A temporary whose writer process is gone is removed by the next write into that folder; a live writer's
    is kept. (A killed export left `.N.tmp-*` folders that no later export removed.)"""
    from keras_gans.core import io_utils

    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    alive = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        base = tmp_path / "sm" / "name"
        host = io_utils._HOST
        (base / f".3.tmp-{dead.pid}@{host}-abcd" / "variables").mkdir(parents=True)
        (base / f".x.png.tmp-{dead.pid}@{host}-ef.png").write_text("half")
        (base / f".4.tmp-{alive.pid}@{host}-live").mkdir()
        (base / f".6.tmp-{dead.pid}@otherhost-x").mkdir()  # another machine's (a shared file system): kept
        io_utils._swept.clear()
        with io_utils.atomic_dir(base / "5") as tmp:
            (tmp / "saved_model.pb").write_text("x")
        names = sorted(p.name for p in base.iterdir())
        assert names == [f".4.tmp-{alive.pid}@{host}-live", f".6.tmp-{dead.pid}@otherhost-x", "5"], names
    finally:
        alive.kill()
        alive.wait()


# ----- item 8: advice that can be followed -------------------------------------------------------------------------
def test_train_out_is_answered_with_run_dir():
    res = run_cli("train", "dcgan", "--out", "somewhere")
    assert res.exit_code == 2
    assert "--run-dir" in res.output and "--set" not in res.output.split("No such option")[-1], res.output


def test_finished_run_header_has_no_backwards_epochs():
    from keras_gans.training.driver import _epochs_span

    assert _epochs_span(2, 5) == "epochs 3..5"
    text = _epochs_span(2, 2)
    assert "3..2" not in text and "nothing to train" in text


def test_read_only_resume_says_how_to_resume(tmp_path, monkeypatch):
    """A resume in a read-only run folder cannot 'choose a folder you can write to' (a resume cannot move): the
    advice says to make the run writable or copy it and pass the copy as --run-dir."""
    from keras_gans.training import driver as tr
    from keras_gans.core.errors import UserError

    run = tmp_path / "run"
    (run / "checkpoints").mkdir(parents=True)
    (run / "checkpoints" / "checkpoint").write_text('model_checkpoint_path: "ckpt-3"\n')

    def read_only(*args, **kwargs):
        raise OSError(errno.EROFS, "Read-only file system", str(run / "history.csv"))

    monkeypatch.setattr(tr, "_train", read_only)
    with pytest.raises(UserError) as info:
        tr.train({}, run, resume=True)
    msg = str(info.value)
    assert "epoch 3" in msg and f"make {run} writable" in msg and "--run-dir" in msg and "--resume" in msg, msg
    assert "choose a folder you can write to, then run the same command with --resume" not in msg
