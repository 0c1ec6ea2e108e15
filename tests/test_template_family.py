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
    from keras_gans.training.driver import train

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


def test_every_family_declares_its_capabilities_and_commands_ask_for_them():
    """Declared, not probed: each family's capabilities and nets; require() names the command and the model kind."""
    import pytest

    from keras_gans.core.errors import UserError
    from keras_gans.models import FAMILIES, family_class
    from keras_gans.models.capabilities import CONDITIONAL, ENCODER, LATENT, TRANSLATOR, has, require

    expected = {"gan": {LATENT}, "cgan": {LATENT, CONDITIONAL}, "acgan": {LATENT, CONDITIONAL},
                "vae": {LATENT, ENCODER}, "cyclegan": {TRANSLATOR}, "cut": {TRANSLATOR}, "template": {LATENT},
                "template_translator": {TRANSLATOR}}
    assert set(FAMILIES) == set(expected)
    for name, caps in expected.items():
        cls = family_class(name)
        assert set(cls.capabilities) == caps and cls.net_names, name
        assert has(cls, LATENT) == hasattr(cls, "sample_from_seeds"), name  # the mixin brings the methods
    cyclegan = family_class("cyclegan")
    assert not hasattr(cyclegan, "evaluation_samples")  # no base method overridden only to raise

    class Run:  # a loaded run is an instance; the check reads its class
        capabilities, family = cyclegan.capabilities, "cyclegan"

    with pytest.raises(UserError, match=r"`sample` needs a model with a latent generator.*'cyclegan'.*transfer"):
        require(Run(), LATENT, "sample")
    with pytest.raises(UserError, match=r"`latent-map` needs a model with an encoder \(model: vae\)"):
        require(Run(), ENCODER, "latent-map")
