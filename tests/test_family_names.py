"""Issue 25, item 2: family names stop at keras_gans/models/. Outside it, code asks for capabilities
(models/capabilities.py) and for what a family declares, never for a family by name: no string literal that is a
family's name (or a family section's dotted key, 'F.key'), no identifier or imported module named after one
(F, F_config, keras_gans.models.F). Comments and docstrings may mention families; messages print the family of
the run from its config (data, not code). Read with `ast`, so text in comments never counts."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "keras_gans"

# (module relative to keras_gans/, literal) pairs that are not a family although they spell one -- keep it short
ALLOWED = {
    ("parts/conditioning.py", "acgan"): "a value of conditional.mode (the auxiliary-classifier head), not the family",
    ("core/registry.py", "acgan"): "registry.MODES lists conditional.mode's values; 'acgan' is the head, not the family",
}


def family_names() -> set[str]:
    from keras_gans.models import FAMILIES, family_sections

    return set(FAMILIES) | {s.SECTION for s in family_sections()} - {"conditional"}  # 'conditional': a section
    # of the cgan/acgan families whose name is an everyday word (the CONDITIONAL capability is spelt the same)


def _docstrings(tree) -> set[int]:
    ids = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)) and node.body:
            first = node.body[0]
            if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant):
                ids.add(id(first.value))
    return ids


def _names_a_family(text: str, families: set[str]) -> bool:
    t = text.lower()
    return t in families or any(t.startswith(f + ".") or t.startswith(f + "_config") for f in families)


def offences(path: Path, families: set[str]) -> list[str]:
    rel = path.relative_to(PACKAGE).as_posix() if path.is_relative_to(PACKAGE) else path.name
    tree = ast.parse(path.read_text(), str(path))
    docs = _docstrings(tree)
    out = []

    def hit(node, what, text):
        if (rel, text) not in ALLOWED:
            out.append(f"{rel}:{node.lineno}: {what} {text!r}")

    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docs:
            if _names_a_family(node.value, families):
                hit(node, "string", node.value)
        elif isinstance(node, ast.Name) and _names_a_family(node.id, families):
            hit(node, "name", node.id)
        elif isinstance(node, ast.Attribute) and _names_a_family(node.attr, families):
            hit(node, "attribute", node.attr)
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            if any(f in node.name.lower().split("_") for f in families):
                hit(node, "definition", node.name)
        elif isinstance(node, ast.alias):
            parts = node.name.split(".") + ([node.asname] if node.asname else [])
            if any(_names_a_family(p, families) for p in parts):
                hit(node, "import", node.name)
        elif isinstance(node, ast.ImportFrom) and node.module:
            if any(_names_a_family(p, families) for p in node.module.split(".")):
                hit(node, "import from", node.module)
    return out


def test_no_module_outside_models_names_a_family():
    families = family_names()
    assert {"cyclegan", "vae", "template_translator"} <= families
    found = []
    for path in sorted(PACKAGE.rglob("*.py")):
        if "models" in path.relative_to(PACKAGE).parts[:1]:
            continue
        if any(_names_a_family(part, families) for part in path.relative_to(PACKAGE).with_suffix("").parts):
            found.append(f"{path.relative_to(PACKAGE).as_posix()}: module named after a family")
        found += offences(path, families)
    assert not found, "family names outside keras_gans/models/ (ask for a capability instead):\n" + "\n".join(found)


def test_the_check_catches_what_it_should(tmp_path):
    """Negative control: each way of naming a family is reported, a comment or docstring is not."""
    families = {"cyclegan", "vae"}
    bad = tmp_path / "probe.py"
    bad.write_text('"""cyclegan in a docstring is fine."""\n'
                   "# and so is cyclegan in a comment\n"
                   "from keras_gans.models.cyclegan import CycleGAN\n"
                   "import keras_gans.models.vae_config\n"
                   "x = cfg['cyclegan']['photo_domain']\n"
                   "y = model == 'vae'\n"
                   "k = 'cyclegan.work_size'\n"
                   "def load_vae(): pass\n")
    got = offences(bad, families)
    assert sorted(g.split(": ", 1)[1] for g in got) == sorted([
        "import from 'keras_gans.models.cyclegan'", "import 'CycleGAN'", "import 'keras_gans.models.vae_config'", "string 'cyclegan'",
        "string 'vae'", "string 'cyclegan.work_size'", "definition 'load_vae'",
    ]), got
