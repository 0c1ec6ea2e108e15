"""Issue 15, item 1: every config key's type and range is checked before anything is written.

A property over the whole schema: for every key in DEFAULTS, a value of the wrong type (and, for numbers, one out
of range) gives exit 2 with one line naming the key, and the run directory is not created. Validation happens
before TensorFlow is touched, so this whole file runs in about a second.
"""

from __future__ import annotations

import pytest

from keras_gans.config.loader import DEFAULTS, VALID_KEYS, flatten
from keras_gans.config.values import LISTS_OR_STRINGS, check_value, key_spec
from conftest import run_cli




def bad_values(key: str) -> list[str]:
    """YAML texts that must be refused for this key: the wrong type, and numbers just outside the range."""
    spec = key_spec(key)
    kind = spec["type"]
    if kind == "any":  # the schedule: checked by its validator, still before any run dir
        return ["{a: 1}", "abc"]
    if kind == "ints":  # per-layer net lists
        return ["{a: 1}", "abc", "[1, abc]", "true", "-1"]
    if kind == "words":
        return ["{a: 1}", "5", "[same, 5]"]
    if key in LISTS_OR_STRINGS:  # "" is a legal value here (e.g. augment.policy: off)
        return ["5", "{a: 1}", "[1, 2]", "not_an_op"]
    if spec["choices"] is not None:
        return ["not_a_choice", "[1, 2]"] + (["7"] if any(isinstance(c, int) for c in spec["choices"]) else [])
    if kind is bool:
        return ["abc", "3"]
    if kind is str:
        return ["[1, 2]", "{a: 1}", "''"]
    if kind is list:
        return ["abc", "5"]
    if kind == "schedule":
        return ["[1, 2]", "abc", "5"]
    out = ["abc", "[1]", "true"]
    if kind is int:
        out.append("2.5")
    if spec["lo"] is not None:
        out.append(str(spec["lo"] - 1) if kind is int else str(spec["lo"] - 0.5))
        if not spec["lo_ok"]:
            out.append(str(spec["lo"]))
    if spec["hi"] is not None:
        out.append(str(spec["hi"] + 1))
    if kind is float:
        out.append(".nan")
    return out


def test_every_default_passes_its_own_check():
    flat = flatten(DEFAULTS)
    for key in VALID_KEYS:
        assert check_value(key, flat[key]) == flat[key], key


@pytest.mark.parametrize("key", VALID_KEYS)
def test_bad_value_for_every_key_is_one_line_and_no_run_dir(key, tmp_path):
    for text in bad_values(key):
        run = tmp_path / "run"
        res = run_cli("train", "dcgan", "--run-dir", run, "--set", f"{key}={text}")
        assert res.exit_code == 2, (key, text, res.output, res.exception)
        err = res.stderr.strip()
        assert err.startswith("error: ") and len(err.splitlines()) == 1 and "Traceback" not in err, (key, text, err)
        assert key in err, (key, text, err)
        assert not run.exists(), (key, text)


@pytest.mark.parametrize("item", ["net.latent_dim=abc", "net.latent_dim=-5", "net.dim=abc", "train.g_lr=abc"])
def test_issue_examples(item, tmp_path):
    res = run_cli("train", "dcgan", "--run-dir", tmp_path / "run", "--set", item)
    assert res.exit_code == 2 and item.split("=")[0] in res.stderr
    assert not (tmp_path / "run").exists()


def test_numbers_written_like_1e_4_are_numbers():
    from keras_gans.config.loader import apply_overrides, load_config, parse_override, validate

    cfg = validate(apply_overrides(load_config("dcgan"), dict([parse_override("train.g_lr=1e-4")])))
    assert cfg["train"]["g_lr"] == pytest.approx(1e-4) and isinstance(cfg["train"]["g_lr"], float)
