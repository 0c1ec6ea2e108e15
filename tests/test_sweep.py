"""The sweep command: grid parsing, one run per config through the one driver, comparison table and figure."""

from __future__ import annotations

import csv
import math

import numpy as np
import pytest

from click.testing import CliRunner

from conftest import TINY_OVERRIDES as TINY


def test_grid_parsing_and_expansion():
    from keras_gans.commands.sweep import expand, parse_grid, split_values

    assert split_values("32,100") == ["32", "100"]
    assert split_values("[32,64],[64,128]") == ["[32,64]", "[64,128]"]
    grid = parse_grid(["net.latent_dim=32,100", "net.d_activation=relu,leaky_relu"])
    assert grid == [("net.latent_dim", [32, 100]), ("net.d_activation", ["relu", "leaky_relu"])]
    configs = expand(["dcgan", "lsgan"], grid)
    assert len(configs) == 8
    assert configs[0]["label"] == "dcgan latent_dim=32 d_activation=relu"
    assert configs[-1]["overrides"] == {"net.latent_dim": 100, "net.d_activation": "leaky_relu"}


def test_bad_grid_is_a_usage_error(tmp_path):
    from keras_gans.cli import main

    r = CliRunner().invoke(main, ["sweep", "dcgan", "--grid", "net.latent=1,2", "--out", str(tmp_path)])
    assert r.exit_code == 2 and "net.latent_dim" in r.output
    r = CliRunner().invoke(main, ["sweep", "nosuchpreset", "--out", str(tmp_path)])
    assert r.exit_code == 2 and "unknown model preset" in r.output


def test_sweep_writes_table_and_figure(tmp_path):
    from PIL import Image

    from keras_gans.commands.sweep import parse_grid, run_sweep

    out = tmp_path / "sw"
    common = {k: v for k, v in TINY.items()}
    rows = run_sweep(["mlp_gan"], parse_grid(["net.latent_dim=8,16"]), out, common, n_samples=4)
    assert [r["config"] for r in rows] == ["mlp_gan latent_dim=8", "mlp_gan latent_dim=16"]
    with open(out / "comparison.csv", newline="") as f:
        table = list(csv.DictReader(f))
    assert len(table) == 2
    for r in table:
        assert r["status"] == "ok" and r["epochs"] == "1" and r["fid"] == ""
        for k in ("d_loss", "g_loss", "sample_diversity"):
            assert math.isfinite(float(r[k]))
    md = (out / "comparison.md").read_text()
    assert md.count("\n") == 4 and "mlp_gan latent_dim=16" in md
    img = np.asarray(Image.open(out / "comparison.png"))
    assert img.shape[0] > 100 and img.shape[1] > 200 and img.std() > 10
    # A second sweep over the same folder reuses the finished runs instead of training again.
    rows2 = run_sweep(["mlp_gan"], parse_grid(["net.latent_dim=8"]), out, common, n_samples=4)
    assert rows2[0]["status"].startswith("reused") and rows2[0]["d_loss"] == rows[0]["d_loss"]
    assert rows2[0]["seconds"] == rows[0]["seconds"] != ""


def test_sweep_fills_fid_with_a_feature_extractor(tmp_path, digit_classifier):
    from keras_gans.commands.sweep import parse_grid, run_sweep

    clf, _ = digit_classifier
    common = {k: v for k, v in TINY.items()}
    rows = run_sweep(["mlp_gan"], parse_grid(["net.latent_dim=8"]), tmp_path, common, n_samples=4,
                     features=str(clf), fid_n=150)  # more images than the classifier's 128 feature dimensions
    assert math.isfinite(float(rows[0]["fid"])) and float(rows[0]["fid"]) > 0 and rows[0]["fid_n"] == 150
    assert math.isfinite(float(rows[0]["kid"]))
    import json

    cond = json.loads((tmp_path / "sweep.json").read_text())["conditions"]
    assert cond["n_generated"] == 150 and len(cond["features_sha256"]) == 64 and cond["resize"].startswith("bicubic")


def test_sweep_fid_compares_with_a_random_subset_of_a_class_sorted_folder(tmp_path, monkeypatch):
    """The FID reference is a fixed random subset of the training images, not the first --fid-n: in a folder sorted
    by class those are nearly one class. Ten class folders of flat images (class k has gray level 20 + 20 k)."""
    from PIL import Image

    from keras_gans.commands import sweep

    data = tmp_path / "classes"
    for k in range(10):
        (data / f"c{k}").mkdir(parents=True)
        for j in range(12):
            Image.fromarray(np.full((16, 16), 20 + 20 * k, np.uint8)).save(data / f"c{k}" / f"{j:02d}.png")
    seen = []

    def fake_fid(real, fake):
        seen.append(real)
        return 1.0

    fake_fid.kid = 0.5
    monkeypatch.setattr(sweep, "fid_function", lambda features, info=None: fake_fid)
    common = {**TINY, "data.path": str(data)}
    rows = sweep.run_sweep(["mlp_gan"], sweep.parse_grid(["net.latent_dim=8"]), tmp_path / "sw", common,
                           n_samples=4, features="any", fid_n=30)
    assert rows[0]["fid"] == "1" and rows[0]["kid"] == "0.5" and rows[0]["fid_n"] == 30 and len(seen) == 1
    real = seen[0]
    assert real.shape[0] == 30 and real.shape[1:3] == (16, 16)
    classes = {int(round((float(im.mean()) - 20) / 20)) for im in real}
    assert len(classes) >= 6, f"reference images come from classes {sorted(classes)} only"  # first 30: 3 classes
    # Fixed by seed, and drawn again for a config whose data differ (a grid over data.image_size).
    from keras_gans.config.loader import load_config

    cache: dict = {}
    assert np.array_equal(sweep.reference_images(load_config("mlp_gan", common), 30, cache), real)
    small = sweep.reference_images(load_config("mlp_gan", {**common, "data.image_size": 8}), 30, cache)
    assert small.shape[1:3] == (8, 8) and len(cache) == 2


def test_sweep_seeds_from_the_cli_reports_mean_and_std(tmp_path):
    """`sweep --seeds 3`: three runs of the config on seeds 5, 6, 7, and mean ± std (sample std) over them."""
    import json

    from keras_gans.cli import main

    out = tmp_path / "sw"
    sets = [a for k, v in TINY.items() for a in ("--set", f"{k}={json.dumps(v) if isinstance(v, list) else v}")]
    r = CliRunner().invoke(main, ["sweep", "mlp_gan", "--seeds", "3", "--seed", "5", "--n-samples", "4",
                                  "--out", str(out), *sets])
    assert r.exit_code == 0, r.output
    with open(out / "comparison.csv", newline="") as f:
        runs = list(csv.DictReader(f))
    assert [r_["seed"] for r_ in runs] == ["5", "6", "7"] and all(r_["status"] == "ok" for r_ in runs)
    assert len({r_["run_dir"] for r_ in runs}) == 3 and runs[0]["run_dir"].endswith("seed5")
    with open(out / "summary.csv", newline="") as f:
        (summary,) = list(csv.DictReader(f))
    div = [float(r_["sample_diversity"]) for r_ in runs]
    assert summary["runs"] == "3" and summary["seeds"] == "5,6,7"
    assert float(summary["sample_diversity_mean"]) == pytest.approx(np.mean(div), rel=1e-3)
    assert float(summary["sample_diversity_std"]) == pytest.approx(np.std(div, ddof=1), rel=1e-2, abs=1e-6)
    assert "± " in (out / "summary.md").read_text() and (out / "spread.png").stat().st_size > 5000
    assert len(set(div)) > 1  # the seeds give different runs
    r = CliRunner().invoke(main, ["sweep", "mlp_gan", "--grid", "net.latent_dim=" + ",".join(map(str, range(1, 23))),
                                  "--seeds", "3", "--out", str(tmp_path / "big")])
    assert r.exit_code == 2 and "66 runs" in r.output


def test_sweep_rejects_a_distributed_strategy_for_several_configs(tmp_path):
    from keras_gans.commands.sweep import parse_grid, run_sweep
    from keras_gans.core.errors import UserError

    with pytest.raises(UserError, match="strategy"):
        run_sweep(["mlp_gan"], parse_grid(["net.latent_dim=8,16"]), tmp_path, {"train.strategy": "mirrored"})
    assert not (tmp_path / "comparison.csv").exists()
