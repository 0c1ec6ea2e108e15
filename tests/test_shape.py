"""The package's shape, checked with ast (nothing is imported): no function over 80 lines, one latent-seed rule."""

from __future__ import annotations

import ast
import re
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
MAX_LINES = 80


def _functions(repo: Path = REPO):
    """(file, name, first line, lines) of every function and method in keras_gans/, nested ones included; a
    function's lines run from its `def` to its last line, docstring included."""
    for path in sorted((repo / "keras_gans").rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
        for node in ast.walk(tree):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                yield path.relative_to(repo), node.name, node.lineno, node.end_lineno - node.lineno + 1


def test_no_function_over_80_lines():
    long = [f"{p}:{line} {name} ({n} lines)" for p, name, line, n in _functions() if n > MAX_LINES]
    assert not long, f"functions over {MAX_LINES} lines (split them into named steps):\n" + "\n".join(long)


def test_the_checker_counts_def_to_end(tmp_path):
    pkg = tmp_path / "keras_gans"
    pkg.mkdir()
    body = "\n".join(f"    x{i} = {i}" for i in range(MAX_LINES))  # def + 80 lines = 81
    (pkg / "m.py").write_text(f'def long():\n{body}\n\n\ndef short():\n    """doc"""\n    return 1\n')
    found = {name: n for _, name, _, n in _functions(tmp_path)}
    assert found == {"long": MAX_LINES + 1, "short": 3}


def test_one_latent_seed_rule():
    """Image i of seed S is latent seed S*100000+i, written once (keras_gans seeds.latent_seeds): no module
    multiplies a seed by its own stride."""
    from keras_gans.core.seeds import latent_seeds

    assert latent_seeds(3, 2).tolist() == [300000, 300001] and latent_seeds(0, 2, start=5).tolist() == [5, 6]
    stride = re.compile(r"np\.arange\([^)]*\)[^\n]*\*\s*(100_?000|1_?000_?000)\b")
    rule_home = {p.resolve() for p in (REPO / "keras_gans").rglob("seeds.py")}
    again = [str(p.relative_to(REPO)) for p in sorted((REPO / "keras_gans").rglob("*.py"))
             if p.resolve() not in rule_home and stride.search(p.read_text(encoding="utf-8"))]
    assert not again, f"a latent-seed rule written again (use latent_seeds): {again}"


def test_no_compatibility_re_exports():
    """Every name is imported from its home: no module keeps an import only so that callers find a name in it."""
    kept = [f"{p.relative_to(REPO)}:{i}" for p in sorted((REPO / "keras_gans").rglob("*.py"))
            for i, line in enumerate(p.read_text(encoding="utf-8").splitlines(), 1) if "noqa: F401" in line]
    assert not kept, f"re-exports of old import paths (import from the real home instead): {kept}"
