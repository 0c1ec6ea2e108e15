"""The training core: train_step numbers, D:G ratio, exact resume, run-directory contents."""

from __future__ import annotations

import csv

import numpy as np
import pytest

from conftest import tiny_config


def _train(cfg, run_dir, resume=False):
    from keras_gans.training.driver import train

    return train(cfg, run_dir, resume=resume, verbose=0)


def test_train_step_losses_finite_and_weights_change(tmp_path):
    from keras_gans.data.builtin import load_digits
    from keras_gans.data.pipeline import make_train_dataset
    from keras_gans.models.gan import GAN
    from keras_gans.training.build import build_model

    cfg = tiny_config()
    arrays, info = GAN.prepare_data(cfg, load_digits(16))
    model = build_model(cfg, info)
    g0 = [w.copy() for w in model.generator.get_weights()]
    d0 = [w.copy() for w in model.discriminator.get_weights()]
    batch = next(iter(make_train_dataset(arrays, 16, 2, seed=0)))
    logs = model.train_step(batch)
    for k, v in logs.items():
        assert np.isfinite(float(v)), k
    assert set(logs) == {"d_loss", "g_loss", "d_real", "d_fake", "d_acc_real", "d_acc_fake", "d_grad_norm", "g_grad_norm",
                         "D_G_z1", "D_G_z2"}
    assert 0.0 <= float(logs["d_real"]) <= 1.0 and 0.0 <= float(logs["d_fake"]) <= 1.0
    assert any(not np.allclose(a, b) for a, b in zip(g0, model.generator.get_weights()))
    assert any(not np.allclose(a, b) for a, b in zip(d0, model.discriminator.get_weights()))
    assert int(model.step_counter.numpy()) == 1


@pytest.mark.parametrize("d_steps,g_steps", [(2, 1), (1, 3)])
def test_d_to_g_ratio_is_honoured(d_steps, g_steps):
    from keras_gans.data.builtin import load_digits
    from keras_gans.data.pipeline import make_train_dataset
    from keras_gans.models.gan import GAN
    from keras_gans.training.build import build_model

    cfg = tiny_config(gan={"d_steps": d_steps, "g_steps": g_steps})
    arrays, info = GAN.prepare_data(cfg, load_digits(16))
    model = build_model(cfg, info)
    ds = iter(make_train_dataset(arrays, 16 * d_steps, 3, seed=0))
    for _ in range(3):
        model.train_step(next(ds))
    assert int(model.d_optimizer.iterations.numpy()) == 3 * d_steps
    assert int(model.g_optimizer.iterations.numpy()) == 3 * g_steps


def test_resume_equals_uninterrupted_run(tmp_path):
    """2 epochs straight == 1 epoch, stop, --resume for the 2nd: same losses and same weights."""
    cfg = tiny_config(train={"epochs": 2})
    m_full, _, h_full = _train(cfg, tmp_path / "full")
    cfg1 = tiny_config(train={"epochs": 1})
    _train(cfg1, tmp_path / "part")
    m_res, _, h_res = _train(cfg, tmp_path / "part", resume=True)
    for k in ("d_loss", "g_loss"):
        assert h_res[k][-1] == pytest.approx(h_full[k][-1], rel=1e-5, abs=1e-6), k
    for a, b in zip(m_full.generator.get_weights(), m_res.generator.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
    rows = list(csv.DictReader(open(tmp_path / "part" / "history.csv")))
    assert [r["epoch"] for r in rows] == ["1", "2"]


def test_run_directory_contents(tmp_path):
    cfg = tiny_config(train={"epochs": 2}, callbacks={"tensorboard": True, "export_at_end": True,
                                                       "export_dir": str(tmp_path / "sm"), "log_every": 1})
    run = tmp_path / "run"
    _train(cfg, run)
    for f in ("config.yaml", "data_info.json", "history.csv", "steps.csv", "curves.png",
              "samples/epoch_0001.png", "samples/epoch_0002.png", "checkpoints/checkpoint", "export.json"):
        assert (run / f).is_file(), f
    assert list((run / "logs").rglob("events.out.tfevents*"))
    assert (tmp_path / "sm" / cfg["name"] / "1" / "saved_model.pb").is_file()
    from PIL import Image

    grid = np.asarray(Image.open(run / "samples" / "epoch_0002.png"))
    # 16 samples of 16 px enlarged to 64 px (callbacks.grid_cell) in a 4x4 grid with 2 px padding: 4*66+2 = 266
    assert grid.shape[:2] == (266, 266)
    assert grid.std() > 5  # not a blank image
    rows = list(csv.DictReader(open(run / "history.csv")))
    assert len(rows) == 2 and {"d_loss", "g_loss", "d_real", "d_fake", "sample_diversity"} <= set(rows[0])
    steps = list(csv.DictReader(open(run / "steps.csv")))
    assert len(steps) == 6  # 3 steps/epoch x 2 epochs, logged every step


def test_steplog_recovers_window_means(tmp_path):
    from keras_gans.training.callbacks import StepLog, read_csv

    log = StepLog(tmp_path, every=2)
    values = [1.0, 3.0, 5.0, 7.0, 9.0, 11.0]
    log.on_epoch_begin(0)
    for i, v in enumerate(values):
        running = sum(values[: i + 1]) / (i + 1)  # what Keras passes: the mean since the epoch began
        log.on_train_batch_end(i, {"d_loss": running})
    log.on_epoch_end(0)
    rows = read_csv(tmp_path / "steps.csv")
    assert [float(r["d_loss"]) for r in rows] == [2.0, 6.0, 10.0]  # means of (1,3), (5,7), (9,11)
