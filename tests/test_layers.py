"""The import layers of keras_gans (written down in docs/extending.md, "The layers"): a module imports only from its
own layer or lower ones, no two modules import each other (directly or round a loop), and no module uses another
module's `_private` name. Parsed with ast, function-level (lazy) imports included, so nothing is imported here."""

from __future__ import annotations

import ast
import functools
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent

# Bottom to top (docs/extending.md). A name matches a module or a whole package (prefix "keras_gans.data" covers
# keras_gans.data.*); the longest matching name wins. "keras_gans" itself is the package's facade (its __init__, the
# public entry points, resolved lazily) and matches only itself.
LAYERS = {
    # 0 foundation
    "keras_gans.core": 0,
    # 1 parts
    "keras_gans.data": 1, "keras_gans.nets": 1, "keras_gans.parts": 1,
    # 2 models
    "keras_gans.models": 2,
    # 3 after a model
    "keras_gans.metrics": 3, "keras_gans.export": 3,
    # 4 config
    "keras_gans.config": 4,
    # 5 training
    "keras_gans.training": 5,
    # 6 entry points
    "keras_gans.commands": 6, "keras_gans.demo": 6, "keras_gans.cli": 6, "keras_gans": 6, "benchmarks": 6,
}
# The only modules allowed loose at the top level of keras_gans/ (everything else lives in a layer's folder).
LOOSE = {"__init__", "cli"}

# Known rule breaks, allowed for now: (importer, imported) for a layer or cycle break, (user, "owner._name") for a
# private name. Empty: every module keeps the rules. A fixed entry fails test_known_list_is_current.
KNOWN: set[tuple[str, str]] = set()  # (importer, imported) pairs allowed for now: none


def layer_of(module: str) -> int | None:
    best = max((k for k in LAYERS if module == k or (k != "keras_gans" and module.startswith(k + "."))), key=len,
               default=None)
    return None if best is None else LAYERS[best]


def all_modules(repo: Path = REPO) -> dict[str, Path]:
    """{dotted name: file} for the package and the benchmark scripts."""
    out = {}
    for p in sorted((repo / "keras_gans").rglob("*.py")):
        parts = p.relative_to(repo).with_suffix("").parts
        if parts[-1] == "__init__":
            parts = parts[:-1]
        out[".".join(parts)] = p
    for p in sorted((repo / "benchmarks").glob("*.py")):
        out[f"benchmarks.{p.stem}"] = p
    return out


def _resolve(name: str, modules: dict) -> str | None:
    """The project module a dotted import name means (a package means its __init__), or None if external."""
    while name:
        if name in modules:
            return name
        name = name.rpartition(".")[0]
    return None


def _package(mod: str, path: Path) -> str:
    return mod if path.name == "__init__.py" else mod.rpartition(".")[0]


def scan(modules: dict) -> tuple[dict[str, set[str]], list[tuple[str, str]]]:
    """({module: project modules it imports}, [(module, 'owner._private')])."""
    edges: dict[str, set[str]] = {m: set() for m in modules}
    private: list[tuple[str, str]] = []
    for mod, path in modules.items():
        tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
        aliases: dict[str, str] = {}  # local name -> project module
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                for a in node.names:
                    target = _resolve(a.name, modules)
                    if target:
                        edges[mod].add(target)
                        aliases[a.asname or a.name] = target if a.asname else a.name.split(".")[0]
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:  # relative import
                    pkg = _package(mod, path).split(".")
                    base = ".".join(pkg[: len(pkg) - node.level + 1] + ([base] if base else []))
                for a in node.names:
                    sub = _resolve(f"{base}.{a.name}", modules)
                    if sub and sub == f"{base}.{a.name}":  # `from pkg import module`
                        edges[mod].add(sub)
                        aliases[a.asname or a.name] = sub
                        continue
                    target = _resolve(base, modules)
                    if target:
                        edges[mod].add(target)
                        if a.name.startswith("_") and not a.name.startswith("__") and target != mod:
                            private.append((mod, f"{target}.{a.name}"))
        for node in ast.walk(tree):
            if (isinstance(node, ast.Attribute) and node.attr.startswith("_") and not node.attr.startswith("__")
                    and isinstance(node.value, ast.Name) and aliases.get(node.value.id) in modules
                    and aliases[node.value.id] != mod):
                private.append((mod, f"{aliases[node.value.id]}.{node.attr}"))
        edges[mod].discard(mod)
    return edges, private


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Every strongly connected group of two or more modules (Tarjan), each as a sorted list."""
    index, low, stack, on, out, counter = {}, {}, [], set(), [], [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in edges.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            group = []
            while True:
                w = stack.pop()
                on.discard(w)
                group.append(w)
                if w == v:
                    break
            if len(group) > 1:
                out.append(sorted(group))

    for v in sorted(edges):
        if v not in index:
            visit(v)
    return out


@functools.lru_cache(maxsize=None)
def _report(repo: Path = REPO):
    modules = all_modules(repo)
    edges, private = scan(modules)
    return modules, edges, private


def test_every_module_has_a_layer():
    modules = all_modules()
    assert len(modules) > 60 and "keras_gans.cli" in modules and "benchmarks.bench_train" in modules
    missing = sorted(m for m in modules if layer_of(m) is None)
    assert not missing, f"place these modules in LAYERS (and in docs/extending.md): {missing}"


def test_no_upward_imports():
    modules, edges, _ = _report()
    bad = sorted((m, t) for m, ts in edges.items() for t in ts
                 if layer_of(m) is not None and layer_of(t) is not None and layer_of(t) > layer_of(m))
    new = [f"{m} (layer {layer_of(m)}) imports {t} (layer {layer_of(t)})" for m, t in bad if (m, t) not in KNOWN]
    assert not new, "imports from a higher layer (see docs/extending.md):\n" + "\n".join(new)


def test_no_import_cycles():
    _, edges, _ = _report()
    pruned = {m: {t for t in ts if (m, t) not in KNOWN} for m, ts in edges.items()}
    found = cycles(pruned)
    assert not found, "modules that import each other (directly or round a loop):\n" + "\n".join(map(str, found))


def test_no_private_names_across_modules():
    _, _, private = _report()
    new = sorted({p for p in private if p not in KNOWN})
    assert not new, "another module's _private name used (make it public or move the code):\n" + \
        "\n".join(f"{m} uses {n}" for m, n in new)


def test_checker_catches_each_rule(tmp_path):
    """The checker itself: an upward import, a two-module cycle and a private name are all found."""
    pkg = tmp_path / "keras_gans"
    for sub in ("core", "data", "training"):
        (pkg / sub).mkdir(parents=True)
        (pkg / sub / "__init__.py").write_text("")
    (tmp_path / "benchmarks").mkdir()
    (pkg / "__init__.py").write_text("")
    (pkg / "core" / "errors.py").write_text("def f():\n    from keras_gans.data import x\n")  # lazy, upward
    (pkg / "data" / "x.py").write_text("from keras_gans.core import errors\nerrors._hidden\n")  # cycle + private
    (pkg / "training" / "driver.py").write_text("from keras_gans.data.x import _y\n")  # private
    modules, edges, private = _report(tmp_path)
    assert "keras_gans.data.x" in edges["keras_gans.core.errors"]
    assert layer_of("keras_gans.data.x") > layer_of("keras_gans.core.errors")
    assert cycles(edges) == [["keras_gans.core.errors", "keras_gans.data.x"]]
    assert sorted(private) == [("keras_gans.data.x", "keras_gans.core.errors._hidden"),
                               ("keras_gans.training.driver", "keras_gans.data.x._y")]


def test_known_list_is_current():
    """Every KNOWN entry still describes a real break (a fixed one must leave the list)."""
    modules, edges, private = _report()
    real = {(m, t) for m, ts in edges.items() for t in ts} | set(private)
    stale = sorted(KNOWN - real)
    assert not stale, f"these KNOWN entries are fixed: remove them from tests/test_layers.py: {stale}"


# ----- the layout --------------------------------------------------------------------------------------------------
def test_top_level_shows_the_layers():
    """keras_gans/ holds folders by layer and at most a few loose modules (LOOSE, <= 8), each in LAYERS."""
    loose = sorted(p.stem for p in (REPO / "keras_gans").glob("*.py"))
    assert loose == sorted(LOOSE) and len(LOOSE) <= 8, f"loose modules at the top level of keras_gans/: {loose}"
    folders = sorted(p.name for p in (REPO / "keras_gans").iterdir() if (p / "__init__.py").is_file())
    assert all(f"keras_gans.{f}" in LAYERS for f in folders), f"a folder without a layer: {folders}"


def test_importing_keras_gans_imports_no_tensorflow():
    """The package's public entry points resolve lazily: `import keras_gans` (and its quiet start-up) stays light,
    and each entry point names a real object."""
    import subprocess
    import sys

    code = ("import sys, keras_gans; heavy = [m for m in ('tensorflow', 'keras') if m in sys.modules]; "
            "assert not heavy, heavy; from keras_gans.core import quiet; assert 'tensorflow' not in sys.modules; "
            "assert keras_gans.UserError.__name__ == 'UserError' and 'tensorflow' not in sys.modules; "
            "print(' '.join(keras_gans.__all__))")
    r = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    import keras_gans

    for name in r.stdout.split():
        assert callable(getattr(keras_gans, name)), name
