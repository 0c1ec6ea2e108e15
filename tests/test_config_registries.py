"""One list per extension point, and the config derived from it (issue 25): the allowed values are the registries'
own lists, a family's section is found from its FAMILIES entry, the GAN family's knobs live in its `gan:` section
(the old train./loss. keys still read, with one warning line), conditional heads are checked when the config is
read, and the config is validated once and never changed during a run."""

from __future__ import annotations

import ast
import copy
import subprocess
import sys
import time
import types
import warnings
from pathlib import Path

import pytest
import yaml

from conftest import TINY_OVERRIDES, run_cli, tiny_config
from keras_gans.core.errors import UserError

REPO = Path(__file__).resolve().parent.parent
PKG = REPO / "keras_gans"


# ----- the registries ---------------------------------------------------------------------------------------------
def test_allowed_values_are_the_registries_lists():
    from keras_gans.core import registry
    from keras_gans.config.values import CHOICES, key_spec
    from keras_gans.models import FAMILIES

    assert list(CHOICES["model"]) == list(FAMILIES)
    assert list(CHOICES["loss.type"]) == list(registry.LOSSES)
    for key in ("net.arch", "net.g_arch", "net.d_arch"):
        assert list(CHOICES[key]) == list(registry.ARCHS), key
    assert key_spec("net.g_arch")["nullable"] and key_spec("net.d_arch")["nullable"]
    assert list(CHOICES["train.optimizer"]) == list(registry.OPTIMIZERS)
    assert list(CHOICES["conditional.mode"]) == list(registry.MODES)


def test_the_heavy_modules_use_the_same_lists():
    from keras_gans import nets
    from keras_gans.core import registry
    from keras_gans.parts import losses, optimizers

    assert list(losses.LOSSES) == list(registry.LOSSES)
    assert nets.ARCHS is registry.ARCHS and optimizers.OPTIMIZERS is registry.OPTIMIZERS
    for name in registry.ARCHS:  # every registered arch is a module with the trunks
        mod = nets._arch({"arch": name}, "g")
        assert callable(mod.generator_trunk) and callable(mod.discriminator_trunk), name


def _literal_lists(path: Path):
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, (ast.Tuple, ast.List, ast.Set)) and node.elts and all(
                isinstance(e, ast.Constant) and isinstance(e.value, str) for e in node.elts):
            yield node.lineno, {e.value for e in node.elts}


def test_no_config_module_restates_a_registry():
    """A literal list of two or more names of one registry in a config module (config*.py, models/*_config.py)
    would be a second list to keep in step: the allowed values must be computed from the registry."""
    from keras_gans.core import registry
    from keras_gans.models import FAMILIES

    lists = {"losses": set(registry.LOSSES), "archs": set(registry.ARCHS), "optimizers": set(registry.OPTIMIZERS),
             "modes": set(registry.MODES), "families": set(FAMILIES)}
    files = sorted((PKG / "config").glob("*.py")) + sorted((PKG / "models").glob("*_config.py"))
    assert len(files) >= 7
    found = []
    for path in files:
        declared = set()  # a family section's own FAMILIES = (...): the section's owners, declared once, there
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Assign) and any(getattr(t, "id", "") == "FAMILIES" for t in node.targets):
                declared.add(node.value.lineno)
        for line, names in _literal_lists(path):
            for what, known in lists.items():
                if len(names & known) >= 2 and not (what == "families" and line in declared):
                    found.append(f"{path.relative_to(REPO)}:{line} lists {what} {sorted(names & known)}")
    assert not found, found


def test_a_family_registered_at_run_time_gets_its_section(monkeypatch):
    """A family added to models.FAMILIES with a NAME_config module beside it: its section is in the schema, and
    `model: NAME` is a valid value, without an edit to config_schema or config_values."""
    from keras_gans import models
    from keras_gans.config import schema as config_schema
    from keras_gans.config.values import check_value

    section = types.ModuleType("fakefam_config")
    section.SECTION, section.FAMILIES = "fakefam", ("fakefam",)
    section.DEFAULTS = {"knob": 3, "words": "a"}
    section.NULLABLE, section.CHOICES, section.RANGES = {}, {"fakefam.words": ("a", "b")}, {}
    section.validate = lambda cfg: None
    monkeypatch.setitem(sys.modules, "fakefam_config", section)
    monkeypatch.setitem(models.FAMILIES, "fakefam", "fakefam:FakeFamily")

    assert section in config_schema.family_sections()
    defaults = config_schema.compose_defaults()
    assert defaults["fakefam"] == {"knob": 3, "words": "a"}
    order = list(defaults)
    assert order.index("callbacks") < order.index("fakefam") < order.index("augment")
    assert "fakefam.knob" in config_schema.flatten(defaults)
    assert check_value("model", "fakefam") == "fakefam"  # the allowed models are the registry itself


def test_config_import_stays_light():
    r = subprocess.run([sys.executable, "-c", "import keras_gans.config.loader, sys; "
                        "print('tensorflow' in sys.modules, 'keras' in sys.modules)"],
                       cwd=REPO, capture_output=True, text=True, timeout=120)
    assert r.returncode == 0 and r.stdout.split() == ["False", "False"], r.stderr


# ----- the GAN family's section and the keys that moved into it ---------------------------------------------------
VALUES = {  # a valid value (not the dcgan preset's) for each moved key
    "train.d_steps": 2, "train.g_steps": 2, "train.reuse_fake": False, "train.schedule": [{"step": 5, "g_lr": 1e-4}],
    "train.ema": 0.5, "loss.gp_weight": 1.0, "loss.clip_value": 0.01, "loss.label_smoothing": 0.1,
    "loss.instance_noise": 0.1,
}


def _moved_lines(record) -> list[str]:
    return [str(w.message) for w in record if " is now gan." in str(w.message)]


def test_every_moved_key_is_listed_here():
    from keras_gans.config.loader import MOVED

    assert set(MOVED) == set(VALUES) and all(new.startswith("gan.") for new in MOVED.values())


@pytest.mark.parametrize("old", sorted(VALUES))
def test_an_old_key_in_set_is_read_with_one_warning(old):
    from keras_gans.config.loader import MOVED, flatten, load_config

    new = MOVED[old]
    with warnings.catch_warnings(record=True) as rec:
        warnings.simplefilter("always")
        cfg = load_config("dcgan", {old: VALUES[old]})
    lines = _moved_lines(rec)
    assert lines == [f"{old} is now {new} (--set); write {new}: {old} is removed in 0.3"]
    flat = flatten(cfg)
    assert flat[new] == VALUES[old] and old not in flat


@pytest.mark.parametrize("old", sorted(VALUES))
def test_an_old_key_in_a_user_yaml_is_read_with_one_warning(tmp_path, old):
    from keras_gans.config.loader import MOVED, flatten, load_config

    section, key = old.split(".")
    path = tmp_path / "mine.yaml"
    path.write_text(yaml.safe_dump({"base": "dcgan", section: {key: VALUES[old]}}))
    with warnings.catch_warnings(record=True) as rec:
        warnings.simplefilter("always")
        cfg = load_config(str(path))
    lines = _moved_lines(rec)
    assert len(lines) == 1 and lines[0].startswith(f"{old} is now {MOVED[old]} ({path})")
    assert "removed in 0.3" in lines[0]
    assert flatten(cfg)[MOVED[old]] == VALUES[old]


def test_old_and_new_key_together_must_agree(tmp_path):
    from keras_gans.config.loader import load_config

    path = tmp_path / "both.yaml"
    path.write_text("base: dcgan\ntrain: {ema: 0.5}\ngan: {ema: 0.9}\n")
    with pytest.raises(UserError, match="sets both train.ema .0.5. and gan.ema .0.9.; keep only gan.ema"):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            load_config(str(path))


def _old_layout(cfg: dict) -> dict:
    """A config as RUN/config.yaml recorded it before the gan: section (the keys at their old places)."""
    from keras_gans.config.loader import MOVED

    old = copy.deepcopy(cfg)
    gan = old.pop("gan")
    for o, n in MOVED.items():
        sec, key = o.split(".")
        old[sec][key] = gan[n.split(".")[1]]
    return old


def test_a_run_directory_recorded_before_the_move_loads_quietly(tmp_path):
    from keras_gans.config.loader import load_run_config

    cfg = tiny_config(gan={"ema": 0.9, "d_steps": 2, "schedule": [{"step": 3, "d_lr": 1e-4}]})
    (tmp_path / "config.yaml").write_text(yaml.safe_dump(_old_layout(cfg), sort_keys=False))
    with warnings.catch_warnings(record=True) as rec:
        warnings.simplefilter("always")
        loaded = load_run_config(tmp_path)
    assert _moved_lines(rec) == []  # the run recorded what it ran with, in the keys of its day: no nagging
    assert loaded["gan"]["ema"] == 0.9 and loaded["gan"]["d_steps"] == 2 and loaded == cfg


def test_an_old_run_samples_exports_and_resumes(tmp_path):
    """A run trained, then its config.yaml rewritten in the layout of before the move: sample, export and --resume
    with an old --set key all work through the CLI."""
    from keras_gans.config.loader import load_run_config
    from keras_gans.training.driver import train

    cfg = tiny_config(gan={"ema": 0.9})
    cfg["train"]["steps_per_epoch"] = 2
    _, run, _ = train(cfg, tmp_path / "run", verbose=0)
    (run / "config.yaml").write_text(yaml.safe_dump(_old_layout(load_run_config(run)), sort_keys=False))

    r = run_cli("sample", run, "--n", 4, "--out", tmp_path / "s.png")
    assert r.exit_code == 0, r.output
    assert (tmp_path / "s.png").is_file() and "is now gan." not in r.output
    r = run_cli("export", run, "--out", tmp_path / "exported")
    assert r.exit_code == 0, r.output
    r = run_cli("train", "dcgan", "--run-dir", run, "--resume", "--epochs", 2, "--set", "train.ema=0.9")
    assert r.exit_code == 0, r.output
    assert "warning: train.ema is now gan.ema (--set); write gan.ema: train.ema is removed in 0.3" in r.output
    recorded = yaml.safe_load((run / "config.yaml").read_text())
    assert recorded["gan"]["ema"] == 0.9 and "ema" not in recorded["train"] and recorded["train"]["epochs"] == 2


def test_a_moved_key_on_the_command_line_warns_in_one_line(tmp_path):
    r = subprocess.run([sys.executable, "cli.py", "train", "dcgan", "--set", "train.ema=0.5", "--set",
                        "data.image_size=abc", "--run-dir", str(tmp_path / "r")],
                       cwd=REPO, capture_output=True, text=True, timeout=120)
    lines = r.stderr.strip().splitlines()
    assert r.returncode == 2
    assert lines == ["warning: train.ema is now gan.ema (--set); write gan.ema: train.ema is removed in 0.3",
                     "error: data.image_size must be an integer >= 8, got 'abc' "
                     "(fix it in the config or with --set data.image_size=...)"], r.stderr
    assert not (tmp_path / "r").exists()


# ----- conditional heads: one parser, checked when the config is read ---------------------------------------------
@pytest.mark.parametrize("heads,needle", [
    ("[{name: hair, from: tags}]",
     "conditional.heads[0] has unknown keys ['from'] (known: name, type, classes, weight, source)"),
    ("[{name: hair, weight: heavy}]", "conditional.heads[0].weight must be a number >= 0, got 'heavy'"),
    ("[{name: hair, weight: -1}]", "conditional.heads[0].weight must be a number >= 0, got -1"),
    ("[{name: hair, type: softmx}]", "conditional.heads[0].type must be softmax or sigmoid, got 'softmx'"),
    ("[{name: hair}, {name: hair}]", "conditional.heads[1].name 'hair' must be a unique identifier"),
    ("[{name: hair, source: [a]}]", "conditional.heads[0].source must be the name of a label in the data"),
])
def test_a_typo_in_a_head_fails_before_any_image_is_decoded(tmp_path, heads, needle):
    """Through the CLI: exit 2, one stderr line, no run directory, in well under the time decoding would take.
    The data folder holds only a broken image with data.on_bad_file=fail, so a decode would fail differently."""
    data = tmp_path / "faces"
    data.mkdir()
    (data / "broken.png").write_bytes(b"not a png")
    t0 = time.perf_counter()
    r = subprocess.run([sys.executable, "cli.py", "train", "acgan", "--data", str(data), "--set",
                        "data.on_bad_file=fail", "--set", f"conditional.heads={heads}",
                        "--run-dir", str(tmp_path / "run")], cwd=REPO, capture_output=True, text=True, timeout=120)
    elapsed = time.perf_counter() - t0
    lines = r.stderr.strip().splitlines()
    assert r.returncode == 2 and len(lines) == 1 and lines[0].startswith(f"error: {needle}"), r.stderr
    assert not (tmp_path / "run").exists() and elapsed < 20  # (under a second unloaded: no TensorFlow import)


def test_heads_are_checked_for_conditional_models_only():
    from keras_gans.parts.conditioning import head_specs

    with pytest.raises(UserError, match=r"model 'acgan' needs conditional.heads"):
        tiny_config(model="acgan", conditional={"heads": []})
    tiny_config(conditional={"heads": [{"name": "x", "oops": 1}]})  # model gan: the section is not read
    cfg = tiny_config(model="cgan", conditional={"mode": "concat", "heads": [
        {"name": "label", "classes": ["A", "b"], "weight": 0.5, "source": "digit"}]})
    assert head_specs(cfg) == [{"name": "label", "type": "softmax", "classes": ["a", "b"], "weight": 0.5,
                                "source": "digit"}]


# ----- validated once, resolved before the run ------------------------------------------------------------------
def test_the_train_command_validates_the_config_once(tmp_path, monkeypatch):
    from keras_gans.config import loader as config

    calls = []
    real = config.validate
    monkeypatch.setattr(config, "validate", lambda cfg: calls.append(1) or real(cfg))
    extra = tmp_path / "extra.yaml"
    extra.write_text("train: {epochs: 3}\n")
    r = run_cli("train", "dcgan", "--config", extra, "--set", "train.batch_size=0", "--run-dir", tmp_path / "r")
    assert r.exit_code == 2 and "train.batch_size must be an integer >= 1" in r.output
    assert len(calls) == 1


def test_the_recorded_config_is_the_one_the_run_used(tmp_path):
    """data.channels (null: from the data) and relative paths are settled before the model is built; the caller's
    config is not changed; RUN/config.yaml read back equals the model's config."""
    from keras_gans.config.loader import load_run_config
    from keras_gans.training.driver import train

    cfg = tiny_config()
    cfg["train"]["steps_per_epoch"] = 1
    assert cfg["data"]["channels"] is None
    before = copy.deepcopy(cfg)
    model, run, _ = train(cfg, tmp_path / "run", verbose=0)
    assert cfg == before  # the caller's dict is untouched
    assert model.cfg["data"]["channels"] == 1
    assert load_run_config(run) == model.cfg


def test_the_tiny_overrides_still_name_real_keys():
    from keras_gans.config.loader import VALID_KEYS

    assert set(TINY_OVERRIDES) <= set(VALID_KEYS)
