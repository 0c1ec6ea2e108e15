"""Issue 15, items 3-7: the image cache keeps the bad-file policy, exports stay in the run unless published,
--resume is repeatable and refuses a contradicting preset or --set, small data is reported with numbers, tag
rows naming no image are counted, and the output reads well in a log (no ANSI codes, one line per warning)."""

from __future__ import annotations

import json

import numpy as np
import pytest
from PIL import Image
from conftest import assert_user_error, run_cli

TINY = ["--set", "data.image_size=16", "--set", "net.dim=8", "--set", "net.latent_dim=16",
        "--set", "train.steps_per_epoch=1", "--set", "callbacks.tensorboard=false", "--set", "callbacks.n_samples=4"]




def _ok(res):
    assert res.exit_code == 0, (res.output, res.stderr, res.exception)
    return res




def _folder(d, n_good=3, bad=True, size=20):
    d.mkdir()
    for i in range(n_good):
        Image.fromarray(np.full((size, size), 40 * i, np.uint8)).save(d / f"{i:03d}.png")
    if bad:
        (d / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\nnot really")
    return d


# ----- item 3: the cache remembers bad files -------------------------------------------------------------------
def test_cache_keeps_bad_file_policy(tmp_path):
    from keras_gans.data.images import find_images, load_images
    from keras_gans.core.errors import UserError

    paths = find_images(_folder(tmp_path / "imgs"))
    with pytest.warns(UserWarning, match="broken.png"):
        first = load_images(paths, 16, on_bad_file="skip")
    assert len(first) == 3 and list(tmp_path.glob("cache/images/*.npz"))  # decoded and cached
    with pytest.raises(UserError, match="broken.png.*on_bad_file"):
        load_images(paths, 16, on_bad_file="fail")  # served from the cache, and still fails
    with pytest.warns(UserWarning, match="broken.png"):
        assert len(load_images(paths, 16, on_bad_file="skip")) == 3  # and still warns
    # the same through the CLI: exit 2 naming the file, before any training
    assert_user_error(run_cli("train", "dcgan", "--data", tmp_path / "imgs", "--run-dir", tmp_path / "run",
                              "--set", "data.on_bad_file=fail", *TINY), "broken.png", last_line=True)
    assert not (tmp_path / "run").exists()


# ----- items 4 and 5: export into the run; repeatable, checked --resume ---------------------------------------
def test_export_stays_in_run_and_resume_is_repeatable(tmp_path, monkeypatch):
    from keras_gans.export.savedmodel import find_export

    monkeypatch.chdir(tmp_path)
    run = tmp_path / "R"
    # R does not exist: --resume starts the run (as BackupAndRestore would)
    _ok(run_cli("train", "dcgan", "--run-dir", run, "--resume", "--epochs", 1, *TINY))
    assert (run / "checkpoints" / "ckpt-1.index").is_file()
    assert (run / "export" / "1" / "saved_model.pb").is_file()
    assert not (tmp_path / "saved_models").exists()  # nothing published by accident
    record = json.loads((run / "export.json").read_text())
    assert record["version"] == 1 and record["epoch"] == 1 and "published" not in record
    assert find_export(run) == run / "export" / "1" == find_export(run / "export") == find_export(run / "export" / "1")
    _ok(run_cli("sample", run / "export", "--n", 4, "--cell", 0, "--out", tmp_path / "s.png"))
    assert np.asarray(Image.open(tmp_path / "s.png")).shape[:2] == (2 * 18 + 2, 2 * 18 + 2)

    # a preset or --set that contradicts the recorded run is an error naming the differences
    assert_user_error(run_cli("train", "wgan", "--run-dir", run, "--resume", *TINY), "loss.type", "name", last_line=True)
    assert_user_error(run_cli("train", "dcgan", "--run-dir", run, "--resume", "--set", "net.dim=16"),
                      "net.dim", "8", "16", last_line=True)
    # ... keys that may change (train.epochs, train.g_lr) continue the run, and take effect
    _ok(run_cli("train", "dcgan", "--run-dir", run, "--resume", "--epochs", 2, "--set", "train.g_lr=1e-4"))
    assert (run / "checkpoints" / "ckpt-2.index").is_file()
    from keras_gans.training.build import load_run

    _, model, epoch = load_run(run)
    assert epoch == 2 and float(model.g_optimizer.learning_rate.numpy()) == pytest.approx(1e-4)
    assert float(model.d_optimizer.learning_rate.numpy()) == pytest.approx(2e-4)
    assert find_export(run) == run / "export" / "2" and json.loads((run / "export.json").read_text())["epoch"] == 2
    # the same command again: nothing left to train, no new export version
    _ok(run_cli("train", "dcgan", "--run-dir", run, "--resume", "--epochs", 2, "--set", "train.g_lr=1e-4"))
    assert sorted(p.name for p in (run / "export").iterdir()) == ["1", "2"]
    # publishing is a command (or callbacks.export_dir)
    _ok(run_cli("export", run, "--out", tmp_path / "pub"))
    assert find_export(tmp_path / "pub" / "dcgan") == tmp_path / "pub" / "dcgan" / "1"


def test_resume_before_first_checkpoint_starts_the_run(tmp_path):
    from keras_gans.config.loader import load_config, save_config

    run = tmp_path / "R"
    run.mkdir()
    save_config(load_config("dcgan"), run)  # what a run killed before its first checkpoint leaves
    (run / "history.csv").write_text("epoch,d_loss\n1,0.5\n")
    res = _ok(run_cli("train", "dcgan", "--run-dir", run, "--resume", "--epochs", 1, *TINY,
                      "--set", "callbacks.export_at_end=false"))
    assert "no checkpoint" in res.output and (run / "checkpoints" / "ckpt-1.index").is_file()


# ----- items 6 and 7: small data, orphan tag rows, output for logs ----------------------------------------------
def test_small_data_warns_with_numbers_in_one_line_each(tmp_path):
    d = tmp_path / "one"
    d.mkdir()
    Image.fromarray(np.full((1, 1), 200, np.uint8)).save(d / "only.png")  # one 1x1 image
    (d / "broken.png").write_bytes(b"garbage")
    res = _ok(run_cli("train", "dcgan", "--data", d, "--run-dir", tmp_path / "run", "--epochs", 1, *TINY,
                      "--set", "train.batch_size=64", "--set", "callbacks.export_at_end=false"))
    warns = [ln for ln in res.stderr.splitlines() if ln.startswith("warning: ")]
    assert any("only 1 training image for 64 images per step" in w for w in warns), res.stderr
    assert any("broken.png" in w for w in warns), res.stderr
    assert "UserWarning" not in res.stderr and "warnings.warn(" not in res.stderr, res.stderr  # one line each
    assert "\x1b[" not in res.output and "\b" not in res.output  # plain lines in a log
    assert any(ln.startswith("epoch 1/1 - ") and "d_loss" in ln for ln in res.output.splitlines()), res.output


def test_tag_rows_naming_no_image_are_counted(tmp_path):
    from keras_gans.data.labels import labels_from_tags_csv

    d = tmp_path / "faces"
    d.mkdir()
    paths = []
    for i in (1, 2):
        Image.fromarray(np.zeros((4, 4, 3), np.uint8)).save(d / f"{i}.png")
        paths.append(str(d / f"{i}.png"))
    (d / "tags.csv").write_text("1,blonde hair blue eyes\n2,red hair green eyes\n7,red hair blue eyes\n"
                                "9,blonde hair green eyes\n")
    labels = labels_from_tags_csv(d / "tags.csv", paths, d, ["hair", "eyes"])
    assert any("2 rows" in n and "name no image" in n and "first: 7" in n for n in labels.notes), labels.notes


def test_decode_progress_is_plain_when_not_a_terminal(tmp_path, capsys):
    from keras_gans.data.images import find_images, load_images

    d = tmp_path / "many"
    d.mkdir()
    for i in range(501):
        Image.fromarray(np.full((4, 4), i % 256, np.uint8)).save(d / f"{i:04d}.png")
    load_images(find_images(d), 8, progress=True, cache_dir=False)
    out = capsys.readouterr().out
    assert "decoding images" in out and "501/501" in out
    assert "\x1b[" not in out and "\b" not in out, repr(out[-300:])
