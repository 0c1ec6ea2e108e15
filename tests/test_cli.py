"""The CLI: a real train -> sample -> export session, and every bad input answered with exit 2 and one line."""

from __future__ import annotations

import numpy as np
from PIL import Image
from conftest import TINY_CLI as TINY, assert_user_error, run_cli








def test_train_sample_export_on_real_digits(tmp_path, digits_dir):
    data = digits_dir
    run = tmp_path / "r"
    res = run_cli("train", "dcgan", "--data", data, "--epochs", 2, "--run-dir", run,
                  "--set", f"callbacks.export_dir={tmp_path / 'sm'}", *TINY)
    assert res.exit_code == 0, res.output + str(res.exception)
    assert (run / "samples" / "epoch_0001.png").is_file() and (run / "samples" / "epoch_0002.png").is_file()
    assert (tmp_path / "sm" / "dcgan" / "1" / "saved_model.pb").is_file()

    res = run_cli("sample", run, "--n", 64, "--out", tmp_path / "g.png")
    assert res.exit_code == 0, res.output
    grid = np.asarray(Image.open(tmp_path / "g.png"))
    # an 8x8 grid of 16 px images, each enlarged 4x (nearest neighbour) to 64 px, with thin 2 px separators
    assert grid.shape[:2] == (8 * 66 + 2, 8 * 66 + 2)
    np.testing.assert_array_equal(grid[2:66, 2:66], np.kron(grid[2:66:4, 2:66:4], np.ones((4, 4), np.uint8)))

    res = run_cli("sample", tmp_path / "sm" / "dcgan", "--n", 64, "--out", tmp_path / "g2.png")
    assert res.exit_code == 0, res.output
    # export == run: the same pixels, up to one grey level where the exported graph rounds a resize-convolution
    # differently (issue 29's preset: 0.3 % of the pixels measured)
    diff = np.abs(grid.astype(int) - np.asarray(Image.open(tmp_path / "g2.png")).astype(int))
    assert diff.max() <= 1 and (diff > 0).mean() < 0.01, (diff.max(), (diff > 0).mean())

    res = run_cli("export", run, "--out", tmp_path / "exports", "--version", 7)
    assert res.exit_code == 0, res.output
    assert (tmp_path / "exports" / "dcgan" / "7" / "saved_model.pb").is_file()

    # resuming a finished run to more epochs continues from its checkpoint
    res = run_cli("train", "dcgan", "--run-dir", run, "--resume", "--epochs", 3)
    assert res.exit_code == 0, res.output + str(res.exception)
    assert (run / "samples" / "epoch_0003.png").is_file()


def test_unknown_preset_and_key(tmp_path):
    assert_user_error(run_cli("train", "dcgn"), "unknown model preset 'dcgn'", "did you mean 'dcgan'")
    assert_user_error(run_cli("train", "dcgan", "--set", "train.epoch=3"), "train.epoch", "train.epochs")
    assert_user_error(run_cli("train", "dcgan", "--set", "nonsense"), "KEY=VALUE")
    assert_user_error(run_cli("train", "dcgan", "--set", "train.batch_size=0"), "train.batch_size")


def test_data_errors(tmp_path):
    assert_user_error(run_cli("train", "dcgan", "--data", tmp_path / "missing"), "data folder not found")
    (tmp_path / "empty").mkdir()
    (tmp_path / "empty" / "notes.txt").write_text("hi")
    assert_user_error(run_cli("train", "dcgan", "--data", tmp_path / "empty"), "no images found")
    bad = tmp_path / "bad"
    bad.mkdir()
    Image.fromarray(np.zeros((20, 20), np.uint8)).save(bad / "ok.png")
    (bad / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\nnot really")
    assert_user_error(run_cli("train", "dcgan", "--data", bad, "--set", "data.on_bad_file=fail", *TINY),
                       "broken.png", "on_bad_file")
    mixed = tmp_path / "mixed"
    mixed.mkdir()
    Image.fromarray(np.zeros((20, 20), np.uint8)).save(mixed / "g.png")
    Image.fromarray(np.zeros((20, 20, 3), np.uint8)).save(mixed / "c.png")
    assert_user_error(run_cli("train", "dcgan", "--data", mixed, *TINY), "grayscale", "data.channels")


def test_run_errors(tmp_path):
    assert_user_error(run_cli("train", "dcgan", "--resume"), "--resume needs --run-dir")
    (tmp_path / "norun").mkdir()
    # --resume in a folder with no checkpoint starts the run (issue 15); bad values still stop it before anything
    assert_user_error(run_cli("train", "dcgan", "--resume", "--run-dir", tmp_path / "norun", "--set", "net.dim=abc"),
                       "net.dim")
    assert_user_error(run_cli("sample", tmp_path / "norun"), "not a run directory")
    assert_user_error(run_cli("export", tmp_path / "norun"), "not a run directory")
