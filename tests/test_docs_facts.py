"""Issue 30, item 9: the config facts the docs quote (a preset's image size and epochs) match configs/*.yaml, read
from the configs at test time (so a preset that changes its recipe fails here until its docs follow), and facts
the docs state twice say the same thing.

What counts as a quoted fact (README.md and docs/*.md):
- a command line `python cli.py train PRESET ...  # ..., 28 px, 25 epochs`: the px and epochs in its comment, unless
  the command itself sets them (--set data.image_size=..., --epochs, --config);
- "`PRESET` preset: 64 px, ..., 10 epochs" and "`configs/PRESET.yaml`: the ... preset (64 px, ..., 10 epochs)".
Measurements ("FID of the dcgan preset after 3 epochs") are not facts about the config and are not matched.
"""

from __future__ import annotations

import re


from conftest import REPO

PRESETS = sorted(p.stem for p in (REPO / "configs").glob("*.yaml"))
_NAME = "|".join(sorted(PRESETS, key=len, reverse=True))
COMMAND = re.compile(rf"cli\.py train ({_NAME})(?![\w.])([^#]*)#(.*)$")
PRESET_THEN_PX = re.compile(rf"`({_NAME})` preset:\s*(\d+) ?px([^.]*)")
FILE_THEN_PAREN = re.compile(rf"`configs/({_NAME})\.yaml`[:,]?[^()\n.]{{0,40}}\((\d+) ?px([^)]*)\)")
PX = re.compile(r"\b(\d+) ?px\b")
EPOCHS = re.compile(r"(?<![\d-])(\d+) epochs\b")


def docs():
    return [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]


def quoted_facts():
    """(where, preset, {'image_size': n, 'epochs': n}) for every config fact quoted in the docs."""
    for doc in docs():
        for i, line in enumerate(doc.read_text(encoding="utf-8").splitlines(), 1):
            where = f"{doc.relative_to(REPO)}:{i}"
            for m in COMMAND.finditer(line):
                preset, opts, comment = m.groups()
                fact = {}
                px, ep = PX.search(comment), EPOCHS.search(comment)
                if px and "data.image_size" not in opts and "--config" not in opts:
                    fact["image_size"] = int(px.group(1))
                if ep and "--epochs" not in opts and "train.epochs" not in opts and "--config" not in opts:
                    fact["epochs"] = int(ep.group(1))
                if fact:
                    yield where, preset, fact
            for m in [*PRESET_THEN_PX.finditer(line), *FILE_THEN_PAREN.finditer(line)]:
                preset, px, rest = m.groups()
                fact = {"image_size": int(px)}
                ep = EPOCHS.search(rest)
                if ep:
                    fact["epochs"] = int(ep.group(1))
                yield where, preset, fact


def test_the_checker_finds_facts():
    found = list(quoted_facts())
    assert len(found) >= 6, found  # the quick-start lines of training, vae and cyclegan at least
    assert any(p == "dcgan" for _, p, _ in found)


def test_config_facts_in_the_docs_match_the_configs():
    from keras_gans.config.loader import load_config

    wrong = []
    for where, preset, fact in quoted_facts():
        cfg = load_config(preset)
        actual = {"image_size": cfg["data"]["image_size"], "epochs": cfg["train"]["epochs"]}
        for key, value in fact.items():
            if actual[key] != value:
                wrong.append(f"{where}: `{preset}` is quoted with {key} {value}, configs say {actual[key]}")
    assert not wrong, "\n".join(wrong)


def test_a_share_of_prints_says_which_measurement_it_is():
    """The ukiyo-e numbers live in docs/cyclegan.md. A share 'called prints' that the README quotes is one of that
    page's numbers and says which measurement it is (a CPU budget or the model); the old claims (94 % for a 10-minute
    run, 100 % for the 30-epoch model: two measurements, one claim to a reader) are gone."""
    master = (REPO / "docs" / "cyclegan.md").read_text(encoding="utf-8")
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    quoted = re.findall(r"called prints (\d?\.\d+)|calls (\d?\.\d+) of the new outputs prints", readme)
    assert quoted, "the README quotes no share of prints"
    for a, b in quoted:
        assert (a or b) in master, f"README quotes {a or b}, which docs/cyclegan.md does not have"
    for line in readme.splitlines():
        if re.search(r"called prints \d?\.\d+|of the new outputs prints", line):
            assert re.search(r"CPU|model|new outputs", line), line
    assert not re.search(r"\b94 ?% of the", readme) and not re.search(r"\b94 ?% of the", master)


def test_training_docs_say_where_the_export_goes():
    """Training keeps its export in RUN/export/N; saved_models/ is what `export RUN` (or callbacks.export_dir) writes."""
    text = (REPO / "docs" / "training.md").read_text(encoding="utf-8")
    section = text[text.index("## What a run writes"):]
    start = section.index("```")
    layout = section[start: section.index("```", start + 3)]
    assert "export/" in layout
    assert not re.search(r"^saved_models/.*written at the end of training", text, re.M)
