"""Uncertainty and floors of the metrics, against references computed by hand on small arrays (pure numpy, fast):
KID's std over subsets, FID's bootstrap interval, the real-vs-real floor, FID below the feature dimension, the
weak-classifier gate, mean ± std over seeds and the conditions two evaluations must share."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import scipy.linalg

from keras_gans.core.errors import UserError


def _mmd2_by_hand(x, y):
    """Unbiased MMD^2 with k(a, b) = (a.b / d + 1)^3, written as the double sums of Bińkowski et al. (eq. 2)."""
    d = x.shape[1]
    k = lambda a, b: (float(np.dot(a, b)) / d + 1.0) ** 3  # noqa: E731
    m, n = len(x), len(y)
    sxx = sum(k(x[i], x[j]) for i in range(m) for j in range(m) if i != j) / (m * (m - 1))
    syy = sum(k(y[i], y[j]) for i in range(n) for j in range(n) if i != j) / (n * (n - 1))
    sxy = sum(k(x[i], y[j]) for i in range(m) for j in range(n)) / (m * n)
    return sxx + syy - 2 * sxy


def test_kid_mean_and_std_over_subsets_match_a_hand_computation():
    from keras_gans.metrics.kid import kid

    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(9, 3)), rng.normal(size=(8, 3)) + 0.7
    mean, std = kid(x, y, subsets=6, subset_size=5, seed=11)  # subsets of min(5, 8 // 2) = 4
    assert kid(x, y, subsets=6, subset_size=4, seed=11) == (mean, std)
    # the same subsets, drawn in the documented order: real subset, then generated subset, per round
    r = np.random.default_rng(11)
    vals = []
    for _ in range(6):
        ix = r.choice(9, 4, replace=False)
        iy = r.choice(8, 4, replace=False)
        vals.append(_mmd2_by_hand(x[ix], y[iy]))
    ref_mean = sum(vals) / 6
    ref_std = (sum((v - ref_mean) ** 2 for v in vals) / 6) ** 0.5  # population std over the subsets
    assert mean == pytest.approx(ref_mean, rel=1e-10) and std == pytest.approx(ref_std, rel=1e-9)
    assert std > 0


def _fid_by_hand(a, b):
    mu1, mu2 = a.mean(0), b.mean(0)
    s1, s2 = np.cov(a, rowvar=False), np.cov(b, rowvar=False)
    return float(np.sum((mu1 - mu2) ** 2) + np.trace(s1 + s2 - 2 * scipy.linalg.sqrtm(s1 @ s2).real))


def test_fid_bootstrap_interval_matches_a_hand_computation():
    from keras_gans.metrics.uncertainty import fid_bootstrap

    rng = np.random.default_rng(1)
    real, fake = rng.normal(size=(30, 2)), rng.normal(size=(25, 2)) * 1.5 + 1.0
    got = fid_bootstrap(real, fake, replicates=20, seed=5, level=0.9)
    r = np.random.default_rng(5)
    vals = []
    for _ in range(20):
        i = r.integers(0, 30, 30)
        j = r.integers(0, 25, 25)
        vals.append(_fid_by_hand(real[i], fake[j]))
    v = sorted(vals)
    # 5th and 95th percentile, linear interpolation between order statistics: position q * (B - 1)
    lo_pos, hi_pos = 0.05 * 19, 0.95 * 19
    lo = v[int(lo_pos)] + (lo_pos - int(lo_pos)) * (v[int(lo_pos) + 1] - v[int(lo_pos)])
    hi = v[int(hi_pos)] + (hi_pos - int(hi_pos)) * (v[int(hi_pos) + 1] - v[int(hi_pos)])
    assert got["low"] == pytest.approx(lo, rel=1e-7) and got["high"] == pytest.approx(hi, rel=1e-7)
    assert got["std"] == pytest.approx(np.std(vals), rel=1e-7)
    assert got["low"] < _fid_by_hand(real, fake) * 1.5 and got["low"] < got["high"]


def test_floor_uses_two_disjoint_halves_at_the_same_n_and_sits_below_a_shifted_model():
    from keras_gans.metrics.report import compute_metrics
    from keras_gans.metrics.uncertainty import split_halves

    a, b, m = split_halves(100, 40, seed=3)
    assert m == 40 and len(a) == len(b) == 40 and not set(a) & set(b)
    a, b, m = split_halves(50, 40, seed=3)
    assert m == 25 and not set(a) & set(b)

    class Identity:
        name, dim, has_probabilities = "identity", 4, False

        def extract(self, images, progress=False):
            return images.reshape(len(images), -1).astype(np.float64), None

        def features(self, images, progress=False):
            return self.extract(images)[0]

    rng = np.random.default_rng(4)
    real_a, real_b = rng.normal(size=(300, 2, 2, 1)), rng.normal(size=(300, 2, 2, 1))
    fake = rng.normal(size=(300, 2, 2, 1)) + 1.0
    res, notes = compute_metrics(Identity(), real_a, fake, None, ["fid", "kid", "pr"], floor_real=real_b,
                                 fid_replicates=10)
    fl = res["floor"]
    assert fl["n"] == 300 and fl["fid"] == pytest.approx(_fid_by_hand(real_a.reshape(300, 4), real_b.reshape(300, 4)))
    assert fl["fid"] < 0.2 < 3.0 < res["fid"]  # shift of 1 in 4 dims: FID ~ 4
    assert res["fid_ci"]["low"] < res["fid"] < res["fid_ci"]["high"] + 1.0
    assert abs(fl["kid"]["mean"]) < res["kid"]["mean"] / 10 and fl["pr"]["recall"] > res["pr"]["recall"]


def test_fid_below_the_feature_dimension_is_not_defined_and_points_to_kid():
    from keras_gans.metrics.report import compute_metrics, flat_metrics, metric_lines

    class Wide:
        name, dim, has_probabilities = "wide", 64, False

        def extract(self, images, progress=False):
            return images.reshape(len(images), -1).astype(np.float64), None

    rng = np.random.default_rng(5)
    real, fake = rng.normal(size=(40, 8, 8, 1)), rng.normal(size=(40, 8, 8, 1))
    res, notes = compute_metrics(Wide(), real, fake, None, ["fid", "kid"])
    assert res["fid"] is None and "not defined at n=40 <= 64" in res["fid_undefined"] and "KID" in res["fid_undefined"]
    assert any("not defined" in n for n in notes) and np.isfinite(res["kid"]["mean"])
    lines = {name: (value, why) for name, value, why in metric_lines(res, 40, 40)}
    assert lines["fid"][0].startswith("not defined") and "KID" in lines["fid"][1]
    assert "lower is better" in lines["kid"][1] and "±" in lines["kid"][0]
    assert flat_metrics(res)["fid"] is None


def test_every_printed_metric_line_says_its_n_and_which_way_is_better():
    from keras_gans.metrics.report import EXPLAIN, metric_lines

    res = {"fid": 12.0, "fid_ci": {"low": 11.0, "high": 13.5, "std": 0.6, "replicates": 50, "level": 0.95},
           "kid": {"mean": 0.5, "std": 0.01, "subsets": 100, "subset_size": 1000},
           "pr": {"precision": 0.8, "recall": 0.6, "density": 0.9, "coverage": 0.7, "k": 5},
           "floor": {"n": 1000, "fid": 0.3, "kid": {"mean": 0.001, "std": 0.002},
                     "pr": {"precision": 0.95, "recall": 0.94, "density": 1.0, "coverage": 0.96, "k": 5}}}
    rows = metric_lines(res, 1000, 1000)
    names = [r[0] for r in rows]
    assert names == ["fid", "kid", "precision", "recall", "density", "coverage"]
    for name, value, why in rows:
        assert "n=1000" in value and "floor" in value and why == EXPLAIN[name]
        assert "better" in why or "higher" in why
    assert "[11, 13.5] 95% bootstrap" in rows[0][1] and "floor 0.3 (real vs real, n=1000)" in rows[0][1]


class _FakeClassifier:
    name = "classifier"

    def __init__(self, acc, k=10, path="clf.keras"):
        self.meta = {"test_accuracy": acc, "n_test": 150} if acc is not None else {}
        self.num_classes, self.path = k, Path(path)


def test_a_classifier_near_chance_is_refused_unless_allowed():
    from keras_gans.metrics.features import check_feature_classifier, weak_features_floor

    assert weak_features_floor(10) == pytest.approx(0.55) and weak_features_floor(2) == pytest.approx(0.75)
    with pytest.raises(UserError, match=r"0\.100, below the floor 0\.55 \(chance 0\.10\).*--allow-weak-features"):
        check_feature_classifier(_FakeClassifier(0.10))
    with pytest.raises(UserError, match="unknown"):
        check_feature_classifier(_FakeClassifier(None))
    line = check_feature_classifier(_FakeClassifier(0.10), allow_weak=True)
    assert "0.100" in line and "chance 0.10" in line
    assert "0.965" in check_feature_classifier(_FakeClassifier(0.965))

    class Inception:
        name = "inception"

    assert check_feature_classifier(Inception()) is None


def test_mean_std_over_seeds_and_condition_mismatch():
    from keras_gans.metrics.spread import conditions_of, mismatch, summarize

    rows = summarize({"a": [{"seed": 0, "kid": "1.0"}, {"seed": 1, "kid": 2.0}, {"seed": 2, "kid": 3.0}],
                      "b": [{"seed": 0, "kid": 5.0}]}, ["kid", "fid"])
    assert rows[0]["kid_mean"] == 2.0 and rows[0]["kid_std"] == pytest.approx(1.0)  # sample std (ddof 1)
    assert rows[0]["kid"] == "2 ± 1 (n=3)" and rows[0]["seeds"] == "0,1,2" and "fid" not in rows[0]
    assert rows[1]["kid"] == "5 (n=1)"
    ev = {"n_generated": 500, "n_real": 500, "data": "/d", "seed": 0,
          "features": {"name": "classifier", "sha256": "ab" * 32, "resize": "bicubic antialias 16x16"}}
    c1 = conditions_of(ev)
    c2 = conditions_of({**ev, "n_generated": 1000, "seed": 3})
    assert mismatch([("r1", c1), ("r2", conditions_of({**ev, "seed": 3}))]) is None  # seeds may differ
    assert mismatch([("r1", c1), ("r2", c2)]) == "n_generated is 500 for r1 but 1000 for r2"
    c3 = conditions_of({**ev, "features": {**ev["features"], "sha256": "cd" * 32}})
    assert "features_sha256 is abababababab for r1" in mismatch([("r1", c1), ("r3", c3)])
