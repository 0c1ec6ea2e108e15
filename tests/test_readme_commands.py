"""Every `python cli.py ...` command the README shows still works (issue 25: no command, key or signature users rely
on breaks in a restructuring). Each README command is run as a user would type it, in a subprocess from another
working directory, with only what makes it fast added (a tiny epoch budget, a small photo); a README command this
file does not know fails the first test, so a new one cannot go untested."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "data"

# README command (as written, after `python cli.py `) -> how this file runs it
KNOWN = {
    "transfer ukiyoe --input photo.jpg --output out/": "test_transfer_ukiyoe",
    "sample saved_models/acgan --vary hair --n 8 --out hair.png": "test_sample_acgan_hair_grid",
    "train dcgan": "test_train_dcgan_then_export",
    "export RUN": "test_train_dcgan_then_export",
    "train acgan_anime --data ../shared/data/anime-faces": "test_train_acgan_anime_preset",
    "train cyclegan_ukiyoe --data ../shared/data/ukiyoe2photo --set cyclegan.upsample=resize": "test_train_ukiyoe_preset",
    "train cut_ukiyoe --data ../shared/data/ukiyoe2photo": "test_train_cut_ukiyoe_preset",
    "demo saved_models/acgan": "tests/test_demo_api.py (the demo over Gradio's HTTP API)",
    "demo": "tests/test_demo_api.py",
    "...": "prose: `python cli.py ...` stands for any command",
}


def readme_commands() -> set[str]:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    found = set()
    for m in re.finditer(r"python cli\.py ([^`\n]+)", text):
        cmd = m.group(1).strip()
        cmd = re.split(r"\s*(?:\(|;|`|,\s| \d+ epochs)", cmd)[0].strip()  # prose after the command
        found.add(cmd)
    return found


def cli(*args, cwd, timeout=600):
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run([sys.executable, str(ROOT / "cli.py"), *map(str, args)], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=timeout)


def test_every_readme_command_is_known_here():
    unknown = readme_commands() - set(KNOWN)
    assert not unknown, f"README commands without a test here: {sorted(unknown)}"
    assert len(readme_commands()) >= 6


def test_transfer_ukiyoe(tmp_path):
    photo = np.random.default_rng(0).integers(0, 256, (90, 120, 3), dtype=np.uint8)
    Image.fromarray(photo).save(tmp_path / "photo.jpg")
    res = cli("transfer", "ukiyoe", "--input", "photo.jpg", "--output", "out/", cwd=tmp_path)
    assert res.returncode == 0, res.stderr
    out = np.asarray(Image.open(next((tmp_path / "out").iterdir())))
    assert out.shape == (90, 120, 3) and out.std() > 5


def test_sample_acgan_hair_grid(tmp_path):
    res = cli("sample", ROOT / "saved_models" / "acgan", "--vary", "hair", "--n", "8", "--out", "hair.png",
              cwd=tmp_path)
    assert res.returncode == 0, res.stderr
    grid = np.asarray(Image.open(tmp_path / "hair.png"))
    assert grid.ndim == 3 and grid.shape[0] > 12 * 64 and grid.shape[1] > 8 * 64  # 12 hair rows x 8 seeds


def test_train_dcgan_then_export(tmp_path):
    res = cli("train", "dcgan", "--epochs", "1", "--set", "train.steps_per_epoch=2", "--run-dir", "run",
              cwd=tmp_path)
    assert res.returncode == 0, res.stderr
    run = tmp_path / "run"
    assert (run / "samples" / "epoch_0001.png").is_file() and (run / "export" / "1" / "saved_model.pb").is_file()
    res = cli("export", "run", "--out", "published", cwd=tmp_path)
    assert res.returncode == 0, res.stderr
    assert list((tmp_path / "published").rglob("saved_model.pb"))


def _shared(name: str) -> Path:
    path = SHARED / name
    if not path.is_dir():
        pytest.skip(f"needs ../shared/data/{name}")
    return path


def test_train_acgan_anime_preset(tmp_path):
    data = _shared("anime-faces")
    res = cli("train", "acgan_anime", "--data", data, "--epochs", "1", "--set", "train.steps_per_epoch=1",
              "--set", "data.max_images=128", "--run-dir", "run", cwd=tmp_path)
    assert res.returncode == 0, res.stderr
    assert (tmp_path / "run" / "samples" / "epoch_0001.png").is_file()


def test_train_ukiyoe_preset(tmp_path):
    data = _shared("ukiyoe2photo")
    res = cli("train", "cyclegan_ukiyoe", "--data", data, "--set", "cyclegan.upsample=resize", "--epochs", "1",
              "--set", "cyclegan.decay_epochs=1",
              "--set", "train.steps_per_epoch=1", "--set", "data.max_images=16", "--run-dir", "run", cwd=tmp_path)
    assert res.returncode == 0, res.stderr
    assert (tmp_path / "run" / "export" / "1" / "saved_model.pb").is_file()


def test_train_cut_ukiyoe_preset(tmp_path):
    """The shipped ukiyo-e model's recipe (README, Shipped models) trains from the CLI and exports photo -> print."""
    data = _shared("ukiyoe2photo")
    res = cli("train", "cut_ukiyoe", "--data", data, "--epochs", "1", "--set", "cut.decay_epochs=1",
              "--set", "train.steps_per_epoch=1", "--set", "data.max_images=16", "--run-dir", "run", cwd=tmp_path)
    assert res.returncode == 0, res.stderr
    assert (tmp_path / "run" / "export" / "1" / "saved_model.pb").is_file()
