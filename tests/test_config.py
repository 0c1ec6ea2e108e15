"""The config is composed from the sections the families declare (models/NAME_config.py), keeps every key and
value it had, and runs one cross-section compatibility check (model, loss, nets, the family's own rules).
Validation only: about a second (plus one TensorFlow import for the loss and net registries)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from conftest import tiny_config
from keras_gans.core.errors import UserError

PKG = Path(__file__).resolve().parent.parent / "keras_gans"


def test_family_sections_are_composed_in_place():
    from keras_gans.config import loader as config, values as config_values
    from keras_gans.models import (conditional_config, cut_config, cyclegan_config, gan_config,
                                   template_translator_config, vae_config)

    sections = (gan_config, cyclegan_config, vae_config, conditional_config, cut_config, template_translator_config)
    assert set(config.FAMILY_SECTIONS) == set(sections)
    for section in sections:
        assert config.DEFAULTS[section.SECTION] == section.DEFAULTS
        for key in list(section.NULLABLE) + list(section.CHOICES) + list(section.RANGES):
            assert key.startswith(section.SECTION + ".") and key in config.VALID_KEYS, key
            assert config_values.key_spec(key)["choices"] == section.CHOICES.get(key)
    # the shared sections in their order, the families' between callbacks and augment, in models.FAMILIES order
    order = list(config.DEFAULTS)
    assert order[:7] == ["name", "model", "data", "net", "loss", "train", "callbacks"]
    assert order[7:13] == ["gan", "conditional", "vae", "cyclegan", "cut", "template_translator"]
    assert order[13:] == ["augment", "watchdog", "eval"]


def test_models_never_import_config():
    """Models get plain values: no module under models/ imports keras_gans.config.loader (config composes them)."""
    for path in (PKG / "models").glob("*.py"):
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom):
                assert node.module != "keras_gans.config.loader" and not (node.module == "keras_gans" and any(
                    a.name == "config" for a in node.names)), path
            elif isinstance(node, ast.Import):
                assert all(a.name != "keras_gans.config.loader" for a in node.names), path


def test_the_registries_answer_a_wrong_name_with_the_nearest():
    from keras_gans.config.values import check_value

    with pytest.raises(UserError, match="model must be one of gan, cgan, .*got 'gann' .did you mean 'gan'"):
        tiny_config(model="gann")
    with pytest.raises(UserError, match="net.d_arch must be one of dcgan, mlp or null"):
        tiny_config(net={"d_arch": "resnet9"})
    with pytest.raises(UserError, match="loss.type must be one of bce, lsgan, wgan, hinge, got 'wasserstein'"):
        check_value("loss.type", "wasserstein")


def test_a_family_rule_applies_to_its_family_only():
    from keras_gans.config.loader import unread_keys

    tiny_config(gan={"d_steps": 2})  # a GAN may take 2 D steps
    # CycleGAN makes one update of each per step: the gan section is not its own, so setting it only warns
    cyc = tiny_config(model="cyclegan", gan={"d_steps": 2}, data={"image_size": 32})
    assert any(line.startswith("gan.d_steps has no effect") for line in unread_keys(cyc))
    with pytest.raises(UserError, match="vae.kl_weight"):
        tiny_config(model="vae", vae={"kl_weight": "heavy"})
    vae = tiny_config(model="vae", gan={"schedule": [{"step": 0, "d_steps": 2}]})  # not the VAE's section: unread
    assert any(line.startswith("gan.schedule has no effect") for line in unread_keys(vae))


def test_conditional_words_are_checked_per_key():
    from keras_gans.config.values import check_value

    assert check_value("conditional.fake_labels", "random") == "random"
    with pytest.raises(UserError, match="conditional.fake_labels must be one of real, random"):
        check_value("conditional.fake_labels", "uniform")
    with pytest.raises(UserError, match="conditional.class_loss must be one of mean, sum"):
        check_value("conditional.class_loss", "max")


def test_template_family_is_a_valid_model():
    assert tiny_config(model="template")["model"] == "template"
