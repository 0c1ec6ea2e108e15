"""Issue 15, item 2: a full disk or a read-only folder gives one line and exit 2, removes this run's temporaries
(no ckpt-N_temp/ left filling the disk) and keeps the last good checkpoint usable: a later --resume works once
space is freed.

The full disk is a real one: a 16 MB tmpfs mounted for the test (needs root and permission to mount; skipped
cleanly otherwise). The read-only folder is a read-only tmpfs as root, else a chmod 555 folder.
"""

from __future__ import annotations

import csv
import errno
import os
import subprocess

import pytest

from conftest import tiny_config
from conftest import assert_user_error, run_cli


def _mount(path, *opts):
    path.mkdir(parents=True, exist_ok=True)
    if os.geteuid() != 0:
        pytest.skip("mounting a size-limited file system needs root")
    r = subprocess.run(["mount", "-t", "tmpfs", "-o", ",".join(["size=16m", *opts]), "tmpfs", str(path)],
                       capture_output=True, text=True)
    if r.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {r.stderr.strip()}")


@pytest.fixture
def small_fs(tmp_path):
    """A 16 MB file system of its own, so the test can fill it."""
    mnt = tmp_path / "small"
    _mount(mnt)
    yield mnt
    subprocess.run(["umount", "-l", str(mnt)], check=False)


@pytest.fixture
def readonly_dir(tmp_path):
    d = tmp_path / "ro"
    if os.geteuid() == 0:
        _mount(d, "ro")
        yield d
        subprocess.run(["umount", "-l", str(d)], check=False)
    else:
        d.mkdir()
        d.chmod(0o555)
        yield d
        d.chmod(0o755)


def fill(folder, keep: int = 0) -> "os.PathLike":
    """Write a ballast file until the file system holds only `keep` free bytes (0: until ENOSPC)."""
    ballast = folder / "ballast.bin"
    chunk = b"\0" * (64 * 1024)
    with open(ballast, "wb") as f:
        try:
            while True:
                free = os.statvfs(folder).f_bavail * os.statvfs(folder).f_frsize
                if free <= keep:
                    break
                f.write(chunk[: max(1, min(len(chunk), free - keep))])
                f.flush()
        except OSError as e:
            assert e.errno == errno.ENOSPC
    return ballast






def test_disk_full_during_checkpoint_then_resume(small_fs, monkeypatch):
    """The disk fills just before the epoch-2 checkpoint: one UserError line, no ckpt-2_temp/, checkpoint 1 kept;
    after freeing space the same call with resume=True finishes the run with rows 1..2."""
    from keras_gans.core.checkpoint import RunCheckpoint
    from keras_gans.core.errors import UserError
    from keras_gans.training.driver import train

    real_save = RunCheckpoint.save
    state = {}

    def save_on_full_disk(self, epoch):
        if epoch == 2 and "ballast" not in state:
            state["ballast"] = fill(small_fs)
        return real_save(self, epoch)

    monkeypatch.setattr(RunCheckpoint, "save", save_on_full_disk)
    run = small_fs / "run"
    cfg = tiny_config(train={"epochs": 2, "steps_per_epoch": 1})
    with pytest.raises(UserError) as info:
        train(cfg, run, verbose=0)
    msg = str(info.value)
    print(msg)
    assert len(msg.splitlines()) == 1 and "no space left" in msg and "--resume" in msg and "epoch 1" in msg, msg
    ckpts = run / "checkpoints"
    assert not list(ckpts.glob("*_temp*")) and not list(run.rglob(".*.tmp-*")), sorted(os.listdir(ckpts))
    assert (ckpts / "ckpt-1.index").is_file() and not (ckpts / "ckpt-2.index").exists()

    state["ballast"].unlink()
    train(tiny_config(train={"epochs": 2, "steps_per_epoch": 1}), run, resume=True, verbose=0)
    rows = list(csv.DictReader(open(run / "history.csv")))
    assert [int(r["epoch"]) for r in rows] == [1, 2]
    assert (ckpts / "ckpt-2.index").is_file()


def test_cli_full_disk_isassert_user_error(small_fs):
    fill(small_fs)
    res = run_cli("train", "dcgan", "--run-dir", small_fs / "run", "--epochs", 1, "--set", "data.image_size=16",
                  "--set", "net.dim=8", "--set", "train.steps_per_epoch=1", "--set", "train.verbose=0",
                  "--set", "callbacks.tensorboard=false")
    assert_user_error(res, "no space left", "free some space")


def test_read_only_run_dir_and_export_out(readonly_dir, tmp_path):
    tiny = ["--set", "data.image_size=16", "--set", "net.dim=8", "--set", "net.latent_dim=16",
            "--set", "train.steps_per_epoch=1", "--set", "train.verbose=0", "--set", "callbacks.tensorboard=false",
            "--set", "callbacks.export_at_end=false", "--epochs", 1]
    assert_user_error(run_cli("train", "dcgan", "--run-dir", readonly_dir / "run", *tiny), str(readonly_dir), "write")
    run = tmp_path / "run"
    assert run_cli("train", "dcgan", "--run-dir", run, *tiny).exit_code == 0
    assert_user_error(run_cli("export", run, "--out", readonly_dir / "sm"), str(readonly_dir), "choose a folder")
