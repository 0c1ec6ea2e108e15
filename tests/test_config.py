"""The config is composed from the sections the families declare (models/NAME_config.py), keeps every key and
value it had, and runs one cross-section compatibility check (model, loss, nets, the family's own rules).
Validation only: about a second (plus one TensorFlow import for the loss and net registries)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from conftest import tiny_config
from keras_gans.errors import UserError

PKG = Path(__file__).resolve().parent.parent / "keras_gans"


def test_family_sections_are_composed_in_place():
    from keras_gans import config, config_values
    from keras_gans.models import conditional_config, cyclegan_config, vae_config

    for section in (cyclegan_config, vae_config, conditional_config):
        assert config.DEFAULTS[section.SECTION] == section.DEFAULTS
        for key in list(section.NULLABLE) + list(section.CHOICES) + list(section.RANGES):
            assert key.startswith(section.SECTION + ".") and key in config.VALID_KEYS, key
            assert config_values.key_spec(key)["choices"] == section.CHOICES.get(key)
    # the section order users see in RUN/config.yaml is unchanged
    order = list(config.DEFAULTS)
    assert order.index("callbacks") < order.index("cyclegan") < order.index("vae") < order.index("conditional") \
        < order.index("augment")


def test_models_never_import_config():
    """Models get plain values: no module under models/ imports keras_gans.config (config composes them)."""
    for path in (PKG / "models").glob("*.py"):
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom):
                assert node.module != "keras_gans.config" and not (node.module == "keras_gans" and any(
                    a.name == "config" for a in node.names)), path
            elif isinstance(node, ast.Import):
                assert all(a.name != "keras_gans.config" for a in node.names), path


def test_compatibility_check_names_what_exists():
    from keras_gans.config import check_compatibility

    cfg = tiny_config()
    cfg["model"] = "gann"
    with pytest.raises(UserError, match="unknown model family 'gann'.*did you mean 'gan'"):
        check_compatibility(cfg)
    cfg = tiny_config()
    cfg["net"]["d_arch"] = "resnet9"
    with pytest.raises(UserError, match="net.d_arch must be one of dcgan, mlp"):
        check_compatibility(cfg)
    cfg = tiny_config()
    cfg["loss"]["type"] = "wasserstein"
    with pytest.raises(UserError, match="loss.type must be one of bce, lsgan, wgan, hinge"):
        check_compatibility(cfg)


def test_a_family_rule_applies_to_its_family_only():
    tiny_config(train={"d_steps": 2})  # a GAN may take 2 D steps
    with pytest.raises(UserError, match="cyclegan makes one G and one D update per step"):
        tiny_config(model="cyclegan", train={"d_steps": 2})
    with pytest.raises(UserError, match="vae.kl_weight"):
        tiny_config(model="vae", vae={"kl_weight": "heavy"})


def test_conditional_words_are_checked_per_key():
    from keras_gans.config_values import check_value

    assert check_value("conditional.fake_labels", "random") == "random"
    with pytest.raises(UserError, match="conditional.fake_labels must be one of real, random"):
        check_value("conditional.fake_labels", "uniform")
    with pytest.raises(UserError, match="conditional.class_loss must be one of mean, sum"):
        check_value("conditional.class_loss", "max")


def test_template_family_is_a_valid_model():
    assert tiny_config(model="template")["model"] == "template"
