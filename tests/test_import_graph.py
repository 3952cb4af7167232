"""The package's import graph has no cycles, and the command line starts without torch.

Which imports count: **module-level** ones, i.e. statements executed when a module is first
imported — at the top of the module or inside module-level ``if``/``try``/``with`` blocks, but
not under ``if TYPE_CHECKING:``. An edge goes from the importing module to the imported module
and to every package ``__init__`` on the way to it (importing ``vaelab.a.b`` runs
``vaelab/a/__init__.py``), except the importer's own parent packages (a package importing its
own submodules is the normal pattern, not a cycle). Imports inside functions are deferred on
purpose (to keep ``vaelab --help`` light, or to load a heavy dependency only when used) and are
not edges: they cannot fail at import time. The module-level graph must be a DAG.

A stricter check covers the evaluation side (metrics, evaluation, reporting, cli): there even
function-level imports must not close a cycle.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src"
PKG = "vaelab"


def _modules() -> dict[str, Path]:
    out = {}
    for p in sorted((SRC / PKG).rglob("*.py")):
        parts = list(p.relative_to(SRC).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        out[".".join(parts)] = p
    return out


def _module_level_imports(tree: ast.Module, name: str, is_pkg: bool) -> list[str]:
    """Dotted names imported by statements run at import time (see the module docstring)."""
    found: list[str] = []

    def visit(stmts: list[ast.stmt]) -> None:
        for s in stmts:
            if isinstance(s, ast.Import):
                found.extend(a.name for a in s.names)
            elif isinstance(s, ast.ImportFrom):
                if s.level:
                    base = name.split(".") if is_pkg else name.split(".")[:-1]
                    base = base[: len(base) - (s.level - 1)]
                    mod = ".".join(base + ([s.module] if s.module else []))
                else:
                    mod = s.module or ""
                found.append(mod)
                found.extend(f"{mod}.{a.name}" for a in s.names)  # ``from pkg import submodule``
            elif isinstance(s, ast.If):
                test = s.test
                if (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
                        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"):
                    visit(s.orelse)
                    continue
                visit(s.body)
                visit(s.orelse)
            elif isinstance(s, ast.Try):
                visit(s.body)
                for h in s.handlers:
                    visit(h.body)
                visit(s.orelse)
                visit(s.finalbody)
            elif isinstance(s, (ast.With, ast.For, ast.While)):
                visit(s.body)

    visit(tree.body)
    return found


def _graph(statements) -> dict[str, set[str]]:
    """``{module: {package modules it imports}}``; ``statements(tree)`` picks the import statements."""
    mods = _modules()
    graph: dict[str, set[str]] = {m: set() for m in mods}
    for m, path in mods.items():
        is_pkg = path.name == "__init__.py"
        own_parents = {".".join(m.split(".")[:i]) for i in range(1, m.count(".") + 1)}
        if is_pkg:
            own_parents.add(m)
        tree = ast.Module(body=statements(ast.parse(path.read_text())), type_ignores=[])
        for target in _module_level_imports(tree, m, is_pkg):
            parts = target.split(".")
            for i in range(1, len(parts) + 1):
                t = ".".join(parts[:i])
                if t in mods and t != m and t not in own_parents:
                    graph[m].add(t)
    return graph


def import_graph() -> dict[str, set[str]]:
    """``{module: {modules it imports at module level}}`` within the package."""
    return _graph(lambda tree: tree.body)


def _all_imports_graph() -> dict[str, set[str]]:
    """Like :func:`import_graph` but with every import statement, function-level ones included."""
    return _graph(lambda tree: [n for n in ast.walk(tree) if isinstance(n, (ast.Import, ast.ImportFrom))])


def find_cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components with more than one module (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on: set[str] = set()
    out: list[list[str]] = []
    counter = [0]

    def strong(v: str) -> None:
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in sorted(graph[v]):
            if w not in index:
                strong(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    sys.setrecursionlimit(max(sys.getrecursionlimit(), 10_000))
    for v in sorted(graph):
        if v not in index:
            strong(v)
    return sorted(out)


def test_cycle_finder_finds_a_known_cycle():
    g = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}, "e": set()}
    assert find_cycles(g) == [["a", "b", "c"]]
    assert find_cycles({"a": {"b"}, "b": set()}) == []


def test_relative_and_from_imports_are_resolved():
    tree = ast.parse("from . import x\nfrom .y import z\nimport vaelab.core.errors\n"
                     "if TYPE_CHECKING:\n    import vaelab.models\ndef f():\n    import vaelab.cli\n")
    found = _module_level_imports(tree, "vaelab.metrics.features", False)
    assert "vaelab.metrics.x" in found and "vaelab.metrics.y" in found and "vaelab.core.errors" in found
    assert "vaelab.models" not in found and "vaelab.cli" not in found


# Cycles in other areas, being removed on their own branches (issue 10); listed exactly so that the
# lead sees them at merge. A listed cycle that is gone fails the test too: delete its entry then.
KNOWN_ELSEWHERE = [
    # data/__init__ imports modalities.spectra.preprocess (to register its steps), which imports
    # data.preprocess (running data/__init__): core-data's branch
    ["vaelab.data", "vaelab.modalities.spectra.preprocess"],
]


def test_module_level_imports_form_a_dag():
    graph = import_graph()
    assert len(graph) > 30  # the walk found the package
    cycles = find_cycles(graph)
    new = [c for c in cycles if c not in KNOWN_ELSEWHERE]
    gone = [c for c in KNOWN_ELSEWHERE if c not in cycles]
    assert not new, "import cycles (module-level imports): " + "; ".join(" <-> ".join(c) for c in new)
    assert not gone, f"fixed, remove from KNOWN_ELSEWHERE: {gone}"


def test_evaluation_side_has_no_cycle_even_through_function_level_imports():
    areas = ("vaelab.metrics", "vaelab.evaluation", "vaelab.reporting", "vaelab.cli")
    cycles = find_cycles(_all_imports_graph())
    mine = [c for c in cycles if any(m == a or m.startswith(a + ".") for m in c for a in areas)]
    assert not mine, f"cycles through the evaluation side: {mine}"


@pytest.mark.parametrize("argv", [["--help"], ["train", "--help"], ["generate", "--help"], ["evaluate", "--help"],
                                  ["ablate", "--help"], ["augment", "--help"], ["demo", "--help"]])
def test_help_does_not_import_torch(argv):
    code = ("import sys\nfrom vaelab.cli.main import main\n"
            f"try:\n    main({argv!r})\nexcept SystemExit as e:\n    assert e.code == 0, e.code\n"
            "heavy = sorted(m for m in ('torch', 'sklearn', 'scipy', 'matplotlib') if m in sys.modules)\n"
            "print('HEAVY', heavy)\n")
    env = {"PYTHONPATH": str(SRC), "PATH": "/usr/bin:/bin"}
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=60)
    assert r.returncode == 0, r.stderr
    assert "usage: vaelab" in r.stdout
    assert r.stdout.strip().splitlines()[-1] == "HEAVY []"
