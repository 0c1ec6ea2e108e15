"""Fixtures shared by the tests/test_eval*.py modules (imported there): one small digit classifier per session."""

from __future__ import annotations

import pytest

from tests.conftest import shared_data


@pytest.fixture(scope="session")
def digit_classifier(tmp_path_factory):
    """(path, metadata) of a small classifier trained on a subset of the real UCI digits (16 px), once."""
    from keras_gans.metrics.classifier import train_classifier

    data = shared_data("uci-digits")
    out = tmp_path_factory.mktemp("clf") / "digits.keras"
    meta = train_classifier(data, out, image_size=16, epochs=10, batch_size=32, max_per_class=100, verbose=0)
    return out, meta
