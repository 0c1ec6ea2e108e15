"""Evaluation metrics for generative models.

Pure-numpy metrics (no TensorFlow import): `fid` (Fréchet distance), `kid` (unbiased MMD^2, cubic kernel),
`scores` (Inception Score, precision/recall/density/coverage, mode-collapse histogram, conditional accuracy).
Feature extractors (InceptionV3 pool features, the project's own domain classifier) live in `features`
and `classifier`, and import TensorFlow when used.
"""

from keras_gans.metrics.fid import feature_stats, fid_from_features, frechet_distance  # noqa: F401
from keras_gans.metrics.kid import kid  # noqa: F401
from keras_gans.metrics.scores import (  # noqa: F401
    class_histogram,
    conditional_accuracy,
    inception_score,
    mode_collapse,
    multilabel_accuracy,
    prdc,
)
