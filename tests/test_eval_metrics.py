"""Evaluation metrics on inputs whose answers are known in closed form (pure numpy, fast)."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.linalg

from keras_gans.metrics.fid import fid_from_features, frechet_distance
from keras_gans.metrics.kid import kid
from keras_gans.metrics.scores import class_histogram, conditional_accuracy, inception_score, mode_collapse, multilabel_accuracy, prdc


def _random_cov(rng, d):
    a = rng.normal(size=(d, d))
    return a @ a.T / d + 0.1 * np.eye(d)


def test_fd_of_gaussian_sample_with_itself_is_zero():
    x = np.random.default_rng(0).normal(size=(2000, 16))
    assert fid_from_features(x, x) == pytest.approx(0.0, abs=1e-8)


def test_fd_diagonal_gaussians_closed_form():
    # commuting (diagonal) covariances: d^2 = |mu1 - mu2|^2 + sum (sqrt(a) - sqrt(b))^2
    mu1, mu2 = np.array([0.0, 1.0, 2.0]), np.array([1.0, 1.0, -1.0])
    a, b = np.array([1.0, 4.0, 9.0]), np.array([4.0, 1.0, 0.25])
    expected = np.sum((mu1 - mu2) ** 2) + np.sum((np.sqrt(a) - np.sqrt(b)) ** 2)
    assert frechet_distance(mu1, np.diag(a), mu2, np.diag(b)) == pytest.approx(expected, rel=1e-10)


def test_fd_general_gaussians_match_scipy_sqrtm_and_samples():
    rng = np.random.default_rng(1)
    d = 8
    mu1, mu2 = rng.normal(size=d), rng.normal(size=d)
    s1, s2 = _random_cov(rng, d), _random_cov(rng, d)
    covmean = scipy.linalg.sqrtm(s1 @ s2).real
    expected = np.sum((mu1 - mu2) ** 2) + np.trace(s1 + s2 - 2 * covmean)
    exact = frechet_distance(mu1, s1, mu2, s2)
    assert exact == pytest.approx(expected, rel=1e-8)
    # from samples of the two Gaussians: converges to the closed form
    x = rng.multivariate_normal(mu1, s1, size=20000)
    y = rng.multivariate_normal(mu2, s2, size=20000)
    assert fid_from_features(x, y) == pytest.approx(expected, rel=0.05)


def test_fd_is_stable_for_singular_covariances():
    # more dimensions than samples: rank-deficient covariances must not give NaN, complex or negative values
    rng = np.random.default_rng(2)
    x, y = rng.normal(size=(10, 64)), rng.normal(size=(10, 64)) + 0.5
    d = fid_from_features(x, y)
    assert np.isfinite(d) and d > 0
    assert fid_from_features(x, x) == pytest.approx(0.0, abs=1e-6)


def test_kid_zero_for_identical_positive_for_shifted():
    rng = np.random.default_rng(3)
    x = rng.normal(size=(600, 32))
    y_same = rng.normal(size=(600, 32))
    same_mean, _ = kid(x, x, subsets=20, subset_size=300)
    indep_mean, _ = kid(x, y_same, subsets=20, subset_size=300)
    shifted_mean, shifted_std = kid(x, x + 0.5, subsets=20, subset_size=300)
    # (a set against itself: overlapping subsets bias the estimate slightly; still ~0 next to a real shift)
    assert abs(same_mean) < 0.03 and abs(indep_mean) < 0.02
    assert shifted_mean > 0.5 and shifted_mean > 10 * shifted_std


def test_inception_score_bounds():
    k = 10
    uniform = np.full((500, k), 1.0 / k)
    assert inception_score(uniform, splits=5)[0] == pytest.approx(1.0, abs=1e-6)
    one_hot = np.eye(k)[np.arange(1000) % k]
    mean, std = inception_score(one_hot, splits=10)
    assert mean == pytest.approx(k, rel=1e-6) and std < 1e-6
    single = np.eye(k)[np.zeros(1000, int)]  # confident but always the same class
    assert inception_score(single)[0] == pytest.approx(1.0, abs=1e-6)


def test_prdc_identical_sets_and_disjoint_sets():
    rng = np.random.default_rng(4)
    x = rng.normal(size=(400, 2))
    r = prdc(x, x, k=5)
    assert r["precision"] == 1.0 and r["recall"] == 1.0 and r["coverage"] == 1.0
    assert r["density"] >= 1.0
    far = prdc(x, x + 100.0, k=5)
    assert far["precision"] == 0.0 and far["recall"] == 0.0 and far["coverage"] == 0.0
    # a generator that covers only half the real distribution: high precision, recall about one half
    half = x[x[:, 0] > 0]
    hr = prdc(x, half, k=5)
    assert hr["precision"] > 0.95 and 0.35 < hr["recall"] < 0.75 and 0.35 < hr["coverage"] < 0.75


def test_collapse_histogram_detects_one_class_generator():
    k = 10
    collapsed = np.eye(k)[np.full(1000, 3)] * 0.9 + 0.01
    c = mode_collapse(collapsed)
    assert c["histogram"][3] == 1000 and sum(c["histogram"]) == 1000
    assert c["modes_covered"] == 1
    assert c["kl_uniform"] == pytest.approx(np.log(k), rel=1e-6)
    even = np.eye(k)[np.arange(1000) % k]
    e = mode_collapse(even)
    assert e["modes_covered"] == k and e["kl_uniform"] == pytest.approx(0.0, abs=1e-9)
    # a few stray predictions do not count as a covered mode
    mostly = np.concatenate([np.full(995, 3), [0, 1, 2, 4, 5]])
    assert mode_collapse(np.eye(k)[mostly])["modes_covered"] == 1
    assert class_histogram(np.array([0, 0, 2]), 4).tolist() == [2, 0, 1, 0]


def test_conditional_accuracy_single_and_multilabel():
    probs = np.eye(4)[[0, 1, 2, 3, 0, 0]]
    assert conditional_accuracy(probs, [0, 1, 2, 3, 1, 2]) == pytest.approx(4 / 6)
    # i-CLEVR evaluator: top-k of the scores against k requested labels
    scores = np.array([[0.9, 0.8, 0.1, 0.0], [0.1, 0.2, 0.9, 0.3]])
    requested = np.array([[1, 1, 0, 0], [0, 1, 0, 0]])
    assert multilabel_accuracy(scores, requested) == pytest.approx(2 / 3)


class _OneHotExtractor:
    """A stand-in classifier: 'predicts' the class written in pixel [0, 0] of each image."""

    name, dim, has_probabilities = "fake", 4, True

    def extract(self, images, progress=False):
        cls = images[:, 0, 0, 0].astype(int)
        p = np.eye(4)[cls]
        return p + 0.01 * np.arange(len(cls))[:, None], p


def test_compute_metrics_scores_conditional_accuracy_and_collapse():
    from keras_gans.core.errors import UserError
    from keras_gans.metrics.report import compute_metrics, flat_metrics

    fake = np.zeros((8, 4, 4, 1), np.uint8)
    fake[:, 0, 0, 0] = [0, 1, 2, 3, 0, 1, 2, 2]
    requested = {"label": np.array([0, 1, 2, 3, 0, 1, 2, 3])}
    res, notes = compute_metrics(_OneHotExtractor(), None, fake, requested, ["accuracy", "collapse", "is"])
    assert res["accuracy"]["value"] == pytest.approx(7 / 8) and res["accuracy"]["per_class"][3] == 0.5
    assert res["collapse"]["histogram"] == [2, 2, 3, 1]
    assert flat_metrics(res)["accuracy"] == pytest.approx(7 / 8)
    res, notes = compute_metrics(_OneHotExtractor(), None, fake, {"hair": requested["label"], "eyes": requested["label"]},
                                 ["accuracy", "is"])
    assert "accuracy" not in res and any("several label groups" in n for n in notes)
    with pytest.raises(UserError, match="unconditional"):
        compute_metrics(_OneHotExtractor(), None, fake, None, ["accuracy"], explicit=True)
