"""Numbers a user can trust, from the CLI on tiny runs: evaluate's conditions, floor and explained lines, the weak
classifier gate, compare's refusal of mismatched conditions and its mean ± std over seeds, keep-best with a score
that worsens (and the watchdog's rollback to it), sample/export --best, truncation."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest
import yaml
from click.testing import CliRunner

from tests.conftest import tiny_config


@pytest.fixture(scope="module")
def run2(tmp_path_factory):
    """A 2-epoch GAN on 16 px digits (seconds)."""
    from keras_gans.training.driver import train

    run = tmp_path_factory.mktemp("trust") / "r"
    cfg = tiny_config()
    cfg["train"]["epochs"] = 2
    train(cfg, run, verbose=0)
    return run


def _cli(*args):
    from keras_gans.cli import main

    return CliRunner().invoke(main, [str(a) for a in args])


def test_evaluate_reports_conditions_floor_interval_and_explains_each_number(run2, digit_classifier, digits_dir):
    clf, meta = digit_classifier
    r = _cli("evaluate", run2, "--data", digits_dir, "--features", clf, "--n", 150, "--metrics", "fid,kid,pr",
             "--bootstrap", 10)
    assert r.exit_code == 0, r.output
    ev = json.loads((run2 / "eval.json").read_text())
    c = ev["conditions"]
    assert c["n_generated"] == 150 and c["n_real"] == 150 and c["n_floor"] == 150 and c["seed"] == 0
    assert len(c["features_sha256"]) == 64 and c["resize"] == "bicubic antialias 16x16" and c["truncation"] == 1.0
    m = ev["metrics"]
    assert m["fid_ci"]["replicates"] == 10 and m["fid_ci"]["low"] <= m["fid_ci"]["high"]
    assert 0 <= m["floor"]["fid"] < m["fid"]  # real vs real sits far below a 2-epoch GAN
    assert m["floor"]["kid"]["mean"] < m["kid"]["mean"]
    out = r.output
    assert f"{meta['test_accuracy']:.3f}" in out and "chance 0.10" in out  # the classifier's own accuracy
    for name in ("fid", "kid", "precision", "recall"):
        line = next(ln for ln in out.splitlines() if ln.startswith(name + " "))
        assert "n=150 gen/150 real" in line and "floor" in line and "better" in line
    # below the feature dimension (128-d classifier): not defined, and KID recommended
    r = _cli("evaluate", run2, "--data", digits_dir, "--features", clf, "--n", 60, "--metrics", "fid,kid")
    assert r.exit_code == 0, r.output
    assert "not defined at n=60 <= 128" in r.output and "read KID" in r.output
    assert json.loads((run2 / "eval.json").read_text())["metrics"]["fid"] is None


def test_evaluate_refuses_a_weak_classifier_and_reports_missing_data_first(run2, digit_classifier, digits_dir, tmp_path):
    clf, meta = digit_classifier
    weak = tmp_path / "weak.keras"
    shutil.copy(clf, weak)
    (tmp_path / "weak.json").write_text(json.dumps({**meta, "test_accuracy": 0.10}))
    before = (run2 / "eval.json").stat().st_mtime_ns if (run2 / "eval.json").exists() else None
    r = _cli("evaluate", run2, "--data", digits_dir, "--features", weak, "--n", 20)
    assert r.exit_code == 2 and "0.100, below the floor 0.55" in r.output and "--allow-weak-features" in r.output
    assert len(r.output.strip().splitlines()) == 1
    after = (run2 / "eval.json").stat().st_mtime_ns if (run2 / "eval.json").exists() else None
    assert before == after  # nothing written
    r = _cli("evaluate", run2, "--data", digits_dir, "--features", weak, "--n", 20, "--metrics", "kid",
             "--allow-weak-features")
    assert r.exit_code == 0 and "held-out accuracy 0.100" in r.output, r.output
    # a missing --data folder is the first thing said, whatever else is wrong (here: a missing classifier too)
    r = _cli("evaluate", run2, "--data", tmp_path / "nope", "--features", tmp_path / "missing.keras")
    assert r.exit_code == 2 and "--data" in r.output and "nope" in r.output and "missing.keras" not in r.output
    assert len(r.output.strip().splitlines()) == 1


def _copy_run(src, dst, seed=None):
    shutil.copytree(src, dst)
    if seed is not None:
        cfg = yaml.safe_load((dst / "config.yaml").read_text())
        cfg["train"]["seed"] = seed
        (dst / "config.yaml").write_text(yaml.safe_dump(cfg))
    return dst


def test_compare_refuses_mismatched_conditions_and_reports_mean_std_over_seeds(run2, digit_classifier, digits_dir,
                                                                               tmp_path):
    clf, _ = digit_classifier
    runs = [_copy_run(run2, tmp_path / f"s{k}", seed=k) for k in range(3)]
    for k, run in enumerate(runs):
        r = _cli("evaluate", run, "--data", digits_dir, "--features", clf, "--n", 40, "--metrics", "kid,pr",
                 "--seed", k)
        assert r.exit_code == 0, r.output
    out = tmp_path / "cmp"
    r = _cli("compare", *runs, "--out", out, "--n", 4)
    assert r.exit_code == 0, r.output
    import csv

    summary = list(csv.DictReader(open(out / "summary.csv")))
    assert len(summary) == 1
    vals = summary[0]
    kids = [json.loads((run / "eval.json").read_text())["metrics"]["kid"]["mean"] for run in runs]
    assert float(vals["kid_mean"]) == pytest.approx(np.mean(kids), rel=1e-4)
    assert float(vals["kid_std"]) == pytest.approx(np.std(kids, ddof=1), rel=1e-3)
    assert vals["runs"] == "3" and vals["seeds"] == "0,1,2" and "±" in r.output and (out / "spread.png").stat().st_size > 5000
    # one run measured on more images: refused, one line, nothing written
    r = _cli("evaluate", runs[2], "--data", digits_dir, "--features", clf, "--n", 50, "--metrics", "kid")
    assert r.exit_code == 0, r.output
    out2 = tmp_path / "cmp2"
    r = _cli("compare", *runs, "--out", out2)
    assert r.exit_code == 2 and "n_generated is 40 for s0 but 50 for s2" in r.output and "--allow-mismatch" in r.output
    assert len(r.output.strip().splitlines()) == 1 and not out2.exists()
    r = _cli("compare", *runs, "--out", out2, "--n", 4, "--allow-mismatch")
    assert r.exit_code == 0 and "conditions" in (out2 / "metrics.csv").read_text().splitlines()[0]


class _ScoreSequence:
    """Puts a fixed 'kid' sequence into the epoch logs (in place of a measured one) and snapshots G's weights."""

    def __init__(self, scores):
        import keras

        class Cb(keras.callbacks.Callback):
            def on_epoch_end(cb, epoch, logs=None):
                logs["kid"] = scores[epoch]
                self.weights[epoch + 1] = [w.copy() for w in cb.model.generator.get_weights()]

        self.weights, self.callback = {}, Cb()


def test_keep_best_keeps_the_best_epoch_when_the_score_worsens(tmp_path):
    from keras_gans.training.build import load_run
    from keras_gans.training.driver import train

    seq = _ScoreSequence([5.0, 2.0, 3.0, 4.0])  # best at epoch 2, then worse
    cfg = tiny_config(eval={"every": 1, "fid": False, "best_metric": "kid"})
    cfg["train"]["epochs"] = 4
    cfg["callbacks"]["export_at_end"] = True
    run = tmp_path / "run"
    train(cfg, run, verbose=0, extra_callbacks=[seq.callback])
    best = json.loads((run / "best.json").read_text())
    assert best["epoch"] == 2 and best["value"] == 2.0 and best["metric"] == "kid" and best["mode"] == "min"
    assert sorted(p.name for p in (run / "best" / "export").iterdir()) == ["1"] or len(list((run / "best" / "export").iterdir())) == 1
    _, model, epoch = load_run(run, best=True)
    assert epoch == 2
    for got, want in zip(model.generator.get_weights(), seq.weights[2]):
        np.testing.assert_array_equal(got, want)
    _, last, last_epoch = load_run(run)
    assert last_epoch == 4
    assert any(not np.array_equal(a, b) for a, b in zip(last.generator.get_weights(), seq.weights[2]))
    # sample / export --best use it; a run without RUN/best says so in one line
    r = _cli("sample", run, "--best", "--n", 4, "--out", tmp_path / "best.png")
    assert r.exit_code == 0, r.output
    r2 = _cli("sample", run, "--n", 4, "--out", tmp_path / "last.png")
    from PIL import Image

    a, b = np.asarray(Image.open(tmp_path / "best.png")), np.asarray(Image.open(tmp_path / "last.png"))
    assert r2.exit_code == 0 and np.abs(a.astype(int) - b.astype(int)).max() > 0
    r = _cli("export", run, "--best", "--out", tmp_path / "sm", "--name", "g")
    assert r.exit_code == 0 and "best checkpoint, epoch 2" in r.output, r.output
    # truncation through the run's export: `sample EXPORT --truncation` = `sample RUN --truncation`, and the
    # demo's slider (serving_default on psi * z): psi 0 draws one image for every seed
    export = sorted((run / "export").iterdir())[-1]
    for src, name in ((run, "run_t.png"), (export, "exp_t.png")):
        r = _cli("sample", src, "--truncation", 0.5, "--n", 4, "--out", tmp_path / name)
        assert r.exit_code == 0, r.output
    a, b = (np.asarray(Image.open(tmp_path / n), np.int32) for n in ("run_t.png", "exp_t.png"))
    assert np.abs(a - b).max() <= 1
    from keras_gans.demo import logic

    demo = logic.load_model(export)
    _, imgs, caption = logic.generate_grid(demo, 0, 4, truncation=0.0)
    assert np.ptp(imgs.astype(int) - imgs[:1].astype(int)) == 0 and "truncation psi 0" in caption
    _, full, _ = logic.generate_grid(demo, 0, 4, truncation=1.0)
    _, near, _ = logic.generate_grid(demo, 0, 4, truncation=0.999)
    assert np.abs(full.astype(int) - near.astype(int)).max() <= 2  # psi ~1 through z = psi 1 through the seeds
    bare = tmp_path / "bare"
    train(tiny_config(), bare, verbose=0)
    r = _cli("sample", bare, "--best", "--out", tmp_path / "x.png")
    assert r.exit_code == 2 and "no best checkpoint" in r.output


def test_watchdog_collapse_rolls_back_to_the_best_checkpoint(tmp_path):
    from keras_gans.training.build import load_run
    from keras_gans.training.driver import train

    seq = _ScoreSequence([5.0, 2.0, 3.0, 4.0, 6.0])
    # a d_loss floor no loss gets under... inverted: every |d_loss| < 1e9 counts as "D wins"; after 7 steps
    # (epoch 3, 3 steps an epoch) the watchdog calls it a collapse and rolls back to epoch 2, the best
    cfg = tiny_config(eval={"every": 1, "fid": False, "best_metric": "kid"},
                      watchdog={"d_loss_floor": 1e9, "patience": 7, "on_collapse": "rollback"})
    cfg["train"]["epochs"] = 5
    run = tmp_path / "run"
    train(cfg, run, verbose=0, extra_callbacks=[seq.callback])
    _, model, epoch = load_run(run)
    assert epoch == 2
    for got, want in zip(model.generator.get_weights(), seq.weights[2]):
        np.testing.assert_array_equal(got, want)


def test_truncation_lowers_diversity_measurably(run2, digit_classifier, digits_dir, tmp_path):
    from keras_gans.training.build import load_run
    from keras_gans.training.callbacks import sample_diversity
    from keras_gans.models.latent import apply_truncation

    _, model, _ = load_run(run2)
    seeds = np.arange(64)
    full = sample_diversity(model.sample_from_seeds(seeds))
    apply_truncation(model, 0.3)
    tight = sample_diversity(model.sample_from_seeds(seeds))
    assert tight < 0.6 * full, (tight, full)
    r = _cli("sample", run2, "--truncation", 0.0, "--n", 4, "--out", tmp_path / "t0.png")
    assert r.exit_code == 0, r.output
    from PIL import Image

    g = np.asarray(Image.open(tmp_path / "t0.png")).astype(int)
    assert g[2:18, 2:18].std() > 0 and np.abs(g[2:18, 2:18] - g[2:18, 20:36]).max() <= 1  # psi 0: one image
    r = _cli("sample", run2, "--truncation", 1.5)
    assert r.exit_code == 2
    clf, _ = digit_classifier
    r = _cli("truncation-curve", run2, "--data", digits_dir, "--features", clf, "--n", 40, "--psi", "0,0.5,1",
             "--out", tmp_path / "curve")
    assert r.exit_code == 0, r.output
    rows = (tmp_path / "curve" / "curve.csv").read_text().splitlines()
    head = rows[0].split(",")
    div = [float(dict(zip(head, row.split(",")))["diversity"]) for row in rows[1:]]
    assert div[0] < 1e-3 < div[1] < div[2]
    assert (tmp_path / "curve" / "curve.png").stat().st_size > 5000
