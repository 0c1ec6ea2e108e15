"""The template family (keras_gans/models/template.py, docs/extending.md) trains through the normal driver: two
steps on the built-in digits, finite losses, both nets' weights changed, a sample grid written. So the template
a newcomer copies cannot rot. Tiny config: a few seconds."""

from __future__ import annotations

import keras
import numpy as np

from conftest import tiny_config


class _Snapshot(keras.callbacks.Callback):
    """The nets' weights as training starts (after the driver built and restored the model)."""

    def on_train_begin(self, logs=None):
        self.start = {k: [w.copy() for w in m.get_weights()] for k, m in self.model.sub_models().items()}


def test_template_family_trains_two_steps_through_the_driver(tmp_path):
    from keras_gans.models import family_class
    from keras_gans.models.capabilities import LATENT, has
    from keras_gans.train import train

    cfg = tiny_config(model="template", train={"steps_per_epoch": 2, "epochs": 1})
    snap = _Snapshot()
    model, run_dir, history = train(cfg, tmp_path / "run", extra_callbacks=[snap])
    assert family_class("template") is type(model) and has(model, LATENT)
    for key in ("d_loss", "g_loss"):
        assert len(history[key]) == 1 and np.isfinite(history[key][0]), (key, history[key])
    assert int(model.step_counter.numpy()) == 2
    assert set(snap.start) == {"generator", "discriminator"}
    for name, net in model.sub_models().items():
        changed = [not np.array_equal(a, b) for a, b in zip(snap.start[name], net.get_weights())]
        assert any(changed), f"{name}'s weights did not change"
    assert (run_dir / "samples" / "epoch_0001.png").is_file()
    images = model.sample_from_seeds([1, 2, 3])
    assert images.shape == (3, 16, 16, 1) and images.dtype == np.uint8
