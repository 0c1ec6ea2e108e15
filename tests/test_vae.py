"""VAE: closed-form KL, lambda 0 = autoencoder, the KL schedule, a CLI train that writes samples + reconstruction
grids, the export round trip, and the latent-map / reconstruct commands."""

from __future__ import annotations

import re

import numpy as np
import pytest

from conftest import run_cli, tiny_config


def vae_config(**sections):
    return tiny_config(model="vae", name="vae", **sections)




# ----- the loss terms -------------------------------------------------------------------------------------------
def test_kl_equals_closed_form_and_monte_carlo():
    from keras_gans.models.vae import kl_divergence

    mu = np.array([[0.5, -1.0, 2.0], [0.0, 0.0, 0.0], [0.3, 0.0, -0.2]], np.float32)
    logvar = np.array([[0.1, -0.7, 1.3], [0.0, 0.0, 0.0], [-2.0, 0.5, 0.0]], np.float32)
    got = np.asarray(kl_divergence(mu, logvar))
    sigma = np.exp(0.5 * logvar.astype(np.float64))
    # KL(N(mu, s^2) || N(0, 1)) = log(1/s) + (s^2 + mu^2)/2 - 1/2, summed over dimensions
    expected = np.sum(np.log(1.0 / sigma) + (sigma**2 + mu**2) / 2.0 - 0.5, axis=1)
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-6)
    assert got[1] == 0.0
    assert got[0] == pytest.approx(0.5 * (0.25 + 1 + 4 + np.exp(0.1) + np.exp(-0.7) + np.exp(1.3) - 3 - 0.7), rel=1e-5)
    # and the Monte-Carlo estimate E_q[log q(z) - log p(z)] agrees
    rng = np.random.default_rng(0)
    z = mu[0] + sigma[0] * rng.standard_normal((400_000, 3))
    log_q = -0.5 * (((z - mu[0]) / sigma[0]) ** 2 + np.log(2 * np.pi) + logvar[0])
    log_p = -0.5 * (z**2 + np.log(2 * np.pi))
    assert np.mean(np.sum(log_q - log_p, axis=1)) == pytest.approx(got[0], rel=0.01)


@pytest.fixture(scope="module")
def small_vae():
    from keras_gans.training.build import build_model

    cfg = vae_config()
    return build_model(cfg, {"image_shape": [16, 16, 1], "n_images": 8})


def test_lambda_zero_is_an_autoencoder_loss(small_vae):
    import tensorflow as tf

    model = small_vae
    x = np.random.default_rng(1).uniform(-1, 1, (8, 16, 16, 1)).astype(np.float32)
    zeros = np.zeros((8, model.latent_dim), np.float32)
    out = {k: np.asarray(v) for k, v in model.compute_losses(x, zeros, 0.0, training=False).items()}
    mu, _ = model.encoder(x, training=False)
    ae = np.mean((x - np.asarray(model.decoder(mu, training=False))) ** 2, axis=(1, 2, 3))  # plain AE: MSE(x, D(E(x)))
    np.testing.assert_allclose(out["total"], out["recon"], rtol=0, atol=0)
    np.testing.assert_allclose(out["recon"], ae, rtol=1e-5)
    assert np.all(out["kl"] > 0)  # the KL term exists; lambda 0 just ignores it
    out2 = {k: np.asarray(v) for k, v in model.compute_losses(x, zeros, 0.3, training=False).items()}
    np.testing.assert_allclose(out2["total"], out2["recon"] + 0.3 * out2["kl"], rtol=1e-6)

    # a train step with lambda = 0 logs loss == recon_loss
    model.kl_weight_var.assign(0.0)
    for t in model.trackers.values():
        t.reset_state()
    logs = model.train_step({"image": tf.constant(x)})
    assert float(logs["kl_weight"]) == 0.0
    assert float(logs["loss"]) == pytest.approx(float(logs["recon_loss"]), rel=1e-6)
    assert float(logs["kl_loss"]) > 0


def test_recon_sum_is_mean_times_pixels():
    from keras_gans.models.vae import reconstruction_error

    rng = np.random.default_rng(2)
    x, y = rng.uniform(-1, 1, (2, 3, 4, 4, 1)).astype(np.float32)
    m, s = np.asarray(reconstruction_error(x, y, "mean")), np.asarray(reconstruction_error(x, y, "sum"))
    np.testing.assert_allclose(s, m * 16, rtol=1e-5)
    np.testing.assert_allclose(m, np.mean((x - y) ** 2, axis=(1, 2, 3)), rtol=1e-5)


# ----- lambda schedule ------------------------------------------------------------------------------------------
def test_schedule_values_and_validation():
    from keras_gans.config.loader import load_config
    from keras_gans.core.errors import UserError
    from keras_gans.models.kl_schedule import kl_weight_at

    cfg = load_config("vae", {"vae.kl_weight": "1e-4", "vae.kl_schedule": {"3": 0.5, 1: 0.0, 6: "2e-3"}})
    v = cfg["vae"]
    assert v["kl_weight"] == 1e-4 and v["kl_schedule"] == {1: 0.0, 3: 0.5, 6: 2e-3}
    assert [kl_weight_at(v, e) for e in range(1, 8)] == [0.0, 0.0, 0.5, 0.5, 0.5, 2e-3, 2e-3]
    v2 = load_config("vae", {"vae.kl_schedule": {4: 1.0}, "vae.kl_weight": 0.2})["vae"]
    assert [kl_weight_at(v2, e) for e in (1, 3, 4, 9)] == [0.2, 0.2, 1.0, 1.0]
    w = load_config("vae", {"vae.kl_schedule": "warmup", "vae.warmup_epochs": 4, "vae.kl_weight": 1.0})["vae"]
    assert [kl_weight_at(w, e) for e in (1, 2, 4, 10)] == [0.25, 0.5, 1.0, 1.0]
    assert kl_weight_at(load_config("vae")["vae"], 7) == 1e-3
    for bad in ({"vae.kl_schedule": {0: 1.0}}, {"vae.kl_schedule": {"x": 1.0}}, {"vae.kl_schedule": "cosine"},
                {"vae.kl_weight": -1}, {"vae.recon": "l1"}, {"vae.holdout": 1.5}, {"vae.kl_schedule": {2: "big"}}):
        with pytest.raises(UserError):
            load_config("vae", bad)


# ----- a tiny CLI run: samples, recon grids, schedule in history, export -------------------------------------------
@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("vae")
    run, sm = tmp / "run", tmp / "sm"
    res = run_cli(
        "train", "vae", "--epochs", 3, "--run-dir", run, "--set", "data.image_size=16", "--set", "net.dim=8",
        "--set", "net.latent_dim=8", "--set", "train.batch_size=16", "--set", "train.steps_per_epoch=3",
        "--set", "callbacks.n_samples=16", "--set", "callbacks.tensorboard=false", "--set", f"callbacks.export_dir={sm}",
        "--set", "train.verbose=0", "--set", "vae.kl_weight=0.1", "--set", "vae.kl_schedule={2: 0.25, 3: 0.0}",
        "--set", "vae.n_recon=12", "--set", "train.mixed_precision=float32",  # exact export comparison
    )
    assert res.exit_code == 0, res.output
    return run, sm


def test_cli_train_writes_samples_recon_grid_and_schedule(tiny_run):
    from PIL import Image

    from keras_gans.training.callbacks import read_csv
    from keras_gans.models.vae_callbacks import spread
    from keras_gans.training.build import load_run

    run, _ = tiny_run
    for e in (1, 2, 3):
        assert (run / "samples" / f"epoch_{e:04d}.png").is_file()
        assert (run / "samples" / f"recon_epoch_{e:04d}.png").is_file()
    assert (run / "vae_curves.png").is_file() and (run / "curves.png").is_file()
    rows = read_csv(run / "history.csv")
    assert [float(r["kl_weight"]) for r in rows] == [0.1, 0.25, 0.0]  # the schedule, epoch by epoch
    assert all(0 < float(r["holdout_mse"]) < 4 for r in rows)
    for r in rows:  # loss = recon + lambda * KL (running means over the epoch)
        assert float(r["loss"]) == pytest.approx(float(r["recon_loss"]) + float(r["kl_weight"]) * float(r["kl_loss"]),
                                                 rel=1e-3)

    grid = np.asarray(Image.open(run / "samples" / "recon_epoch_0003.png"))
    assert grid.shape == (4 * 66 + 2, 8 * 66 + 2)  # 12 images, 8 a row: originals over reconstructions, 2 row pairs
    cfg, model, epoch = load_run(run)
    assert epoch == 3 and len(model.holdout_images()) == round(0.05 * 1797)
    originals = model.holdout_images()[spread(len(model.holdout_images()), 12)]
    # 16 px cells enlarged 4x to 64 px: every 4th pixel of a cell is the image
    np.testing.assert_array_equal(grid[2:66:4, 2:66:4], originals[0][..., 0])  # row 1: an original
    np.testing.assert_array_equal(grid[2 + 132 : 66 + 132 : 4, 2 + 66 : 66 + 66 : 4], originals[9][..., 0])  # row 3, col 2
    recon = model.reconstruction_grid(originals)
    np.testing.assert_array_equal(grid, recon[..., 0])  # the restored model redraws the same grid


def test_export_round_trip(tiny_run):
    import json

    import tensorflow as tf

    from keras_gans.core.images import to_uint8
    from keras_gans.training.build import load_run

    run, sm = tiny_run
    path = json.loads((run / "export.json").read_text())["path"]
    _, model, _ = load_run(run)
    loaded = tf.saved_model.load(path)
    assert {"serving_default", "generate", "encode"} <= set(loaded.signatures)
    z = np.random.default_rng(3).normal(size=(5, 8)).astype(np.float32)
    got = loaded.signatures["serving_default"](z=tf.constant(z))["images"].numpy()
    assert got.dtype == np.uint8 and got.shape == (5, 16, 16, 1)
    expected = to_uint8(model.decoder(z, training=False))
    assert np.abs(got.astype(int) - expected.astype(int)).max() <= 1
    seeds = np.array([0, 5, 9], np.int64)
    g = loaded.signatures["generate"](seed=tf.constant(seeds))
    np.testing.assert_array_equal(g["images"].numpy(), model.sample_from_seeds(seeds))
    np.testing.assert_array_equal(tf.io.decode_png(g["image_bytes"][1]).numpy(), model.sample_from_seeds(seeds)[1])
    imgs = model.holdout_images()[:4]
    enc = loaded.signatures["encode"](images=tf.constant(imgs))
    mu, _ = model.encode(imgs.astype(np.float32) / 127.5 - 1.0)
    np.testing.assert_allclose(enc["z_mean"].numpy(), np.asarray(mu), atol=1e-5)


def test_latent_map_and_reconstruct_commands(tiny_run, tmp_path, digits_dir):
    from keras_gans.data.images import find_images, load_images
    from keras_gans.metrics.reconstruction import reconstruction_mse
    from keras_gans.training.build import load_run

    run, _ = tiny_run
    digits = digits_dir
    out = tmp_path / "map.png"
    res = run_cli("latent-map", run, "--data", digits, "--out", out, "--n", 80, "--method", "tsne")
    assert res.exit_code == 0, res.output
    s = float(re.search(r"silhouette score of the 2-D map by label: (-?[0-9.]+) \(10 labels, 80 points\)", res.output)[1])
    assert -1 <= s <= 1 and out.stat().st_size > 1000

    res = run_cli("reconstruct", run, "--data", digits, "--n", 8, "--out", tmp_path / "rec.png")
    assert res.exit_code == 0, res.output
    mse = float(re.search(r"reconstruction MSE on 1797 images of .*: ([0-9.]+) ", res.output)[1])
    _, model, _ = load_run(run)
    images = load_images(find_images(digits), 16, 1).images
    assert mse == pytest.approx(reconstruction_mse(model, images), abs=1e-5)
    assert 0 < mse < 4 and (tmp_path / "rec.png").is_file()

    res = run_cli("evaluate", run, "--data", digits, "--metrics", "recon", "--n", 1797)
    assert res.exit_code == 0, res.output
    import json

    saved = json.loads((run / "eval.json").read_text())
    assert saved["metrics"]["recon_mse"] == pytest.approx(mse, abs=1e-5)

    res = run_cli("reconstruct", run, "--out", tmp_path / "rec2.png")  # default: the run's held-out split
    assert res.exit_code == 0 and "held-out split" in res.output, res.output

    res = run_cli("latent-map", run, "--out", tmp_path / "m0.png")  # trained on a built-in set: no held-out files
    assert res.exit_code == 2 and "pass --data" in res.output, res.output

    labels = tmp_path / "labels.csv"
    labels.write_text("nothing.png,x\n")
    res = run_cli("latent-map", run, "--data", digits, "--labels", labels, "--out", tmp_path / "m2.png", "--n", 20)
    assert res.exit_code == 2 and "none of the" in res.output


def test_reconstruction_mse_needs_an_encoder():
    from keras_gans.core.errors import UserError
    from keras_gans.metrics.reconstruction import reconstruction_mse

    class NoEncoder:
        family = "gan"
        image_shape = (16, 16, 1)

    with pytest.raises(UserError, match="needs a model with an encoder"):
        reconstruction_mse(NoEncoder(), np.zeros((2, 16, 16, 1), np.uint8))
