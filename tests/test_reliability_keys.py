"""Issue 30, item 7: keys accepted and ignored in silence. A valid key that has no effect for the chosen family gets
one warning line naming it and why (derived from the sections each family reads, not a list per command); a wrong
type is exit 2 and one line. No TensorFlow work: train() is stopped before it starts."""

from __future__ import annotations

import warnings

import pytest

from conftest import REPO, assert_user_error, run_cli


def unread(preset, **overrides):
    from keras_gans.config.loader import load_config, unread_keys

    return unread_keys(load_config(preset, overrides))


HEAD = [{"name": "digit", "type": "softmax", "classes": ["0", "1"]}]


@pytest.mark.parametrize("preset, overrides, needle", [
    ("dcgan", {"conditional.heads": HEAD}, "conditional.heads has no effect: the conditional section is read only by model cgan / acgan"),
    ("dcgan", {"cyclegan.n_blocks": 3}, "cyclegan.n_blocks has no effect: the cyclegan section is read only by model cyclegan"),
    ("dcgan", {"vae.kl_weight": 0.5}, "vae.kl_weight has no effect"),
    ("dcgan", {"eval.data": "somewhere", "eval.classifier": "c.keras"}, "eval.data has no effect: eval.every is 0"),
    ("vae", {"loss.type": "hinge"}, "loss.type has no effect: model vae never reads the loss section"),
    ("vae", {"augment.translation_ratio": 0.25}, "augment.translation_ratio has no effect: model vae never reads the augment section"),
    ("cyclegan", {"loss.type": "hinge"}, "loss.type has no effect: model cyclegan always uses loss.type lsgan"),
    ("cyclegan", {"conditional.heads": HEAD}, "conditional.heads has no effect"),
])
def test_a_key_the_family_never_reads_is_named(preset, overrides, needle):
    lines = unread(preset, **overrides)
    assert any(line.startswith(needle) for line in lines), lines
    assert len(lines) == len(overrides), lines  # one line per key


def test_keys_that_are_read_are_not_named():
    assert unread("acgan", **{"conditional.heads": HEAD}) == []
    assert unread("dcgan", **{"eval.every": 1, "eval.data": "x"}) == []
    assert unread("dcgan", **{"loss.type": "hinge", "augment.policy": "color"}) == []


def test_shipped_presets_warn_about_nothing():
    names = sorted(p.stem for p in (REPO / "configs").glob("*.yaml"))
    assert {n: unread(n) for n in names if unread(n)} == {}


def test_train_warns_once_per_unread_key(tmp_path, monkeypatch):
    from keras_gans.training import driver as tr
    from keras_gans.config.loader import load_config

    monkeypatch.setattr(tr, "_train", lambda *a, **k: None)
    cfg = load_config("dcgan", {"conditional.heads": HEAD, "cyclegan.pool_size": 3})
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        tr.train(cfg, tmp_path / "run")
    texts = [str(w.message) for w in caught if "has no effect" in str(w.message)]
    assert sorted(t.split()[0] for t in texts) == ["conditional.heads", "cyclegan.pool_size"], texts


@pytest.mark.parametrize("value", ["[[1], 2]", "[{a: 1}]", "[true]", "5"])
def test_wrong_type_for_ignore_tags_is_one_line(value, tmp_path):
    res = run_cli("train", "dcgan", "--run-dir", tmp_path / "run", "--set", f"data.ignore_tags={value}")
    assert_user_error(res, "data.ignore_tags")
    assert not (tmp_path / "run").exists()
