"""Evaluation metrics for generative models.

Pure-numpy metrics (no TensorFlow import): `fid` (Fréchet distance), `kid` (unbiased MMD^2, cubic kernel),
`scores` (Inception Score, precision/recall/density/coverage, mode-collapse histogram, conditional accuracy).
Feature extractors (InceptionV3 pool features, the project's own domain classifier) live in `features`
and `classifier`, and import TensorFlow when used.
"""
