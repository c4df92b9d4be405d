"""The package's layers: who may import whom, no import circles, no module over 600 lines.

Every import of a package module counts, at module level or inside a function. The layers,
bottom to top (a module may import its own layer and the layers below):

    base utilities (_validation, _optional, _threads, _timeline, _registry, _version)
    flow (the numerics core) < analysis < particles, gan < io < sweep, fipy_reference, progress
    < verify < plot, cli, the package itself

The one allowed upward import is the documented accessor ``Solution.plot`` (flow -> plot).
Entry points (``__main__.py``) are not library modules and are not checked for circles.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1] / "fokkerplanck"
MAX_LINES = 600

BASE = {"_validation", "_optional", "_threads", "_timeline", "_registry", "_version"}
LAYERS = [BASE, {"flow"}, {"analysis"}, {"particles", "gan"}, {"io"}, {"sweep", "fipy_reference", "progress"},
          {"verify"}, {"plot", "cli", "_compat", "__main__", ""}]
ALLOWED_UPWARD = {("fokkerplanck.flow.solution", "fokkerplanck.plot")}  # Solution.plot, the documented accessor


def _modules():
    out = {}
    for path in ROOT.rglob("*.py"):
        rel = path.relative_to(ROOT.parent).with_suffix("")
        parts = list(rel.parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        out[".".join(parts)] = path
    return out


MODULES = _modules()


def _resolve(module, node):
    """Package modules imported by an ``import`` / ``from ... import`` node of ``module``."""
    is_pkg = MODULES[module].name == "__init__.py"
    targets = []
    if isinstance(node, ast.Import):
        for alias in node.names:
            if alias.name == "fokkerplanck" or alias.name.startswith("fokkerplanck."):
                targets.append(alias.name)
        return [t for t in targets if t in MODULES]
    if node.level:
        base = module.split(".") if is_pkg else module.split(".")[:-1]
        base = base[: len(base) - (node.level - 1)]
        prefix = ".".join(base + ([node.module] if node.module else []))
    else:
        prefix = node.module or ""
        if not (prefix == "fokkerplanck" or prefix.startswith("fokkerplanck.")):
            return []
    for alias in node.names:
        sub = f"{prefix}.{alias.name}"
        targets.append(sub if sub in MODULES else prefix)
    return [t for t in targets if t in MODULES]


def _edges():
    edges = {}
    for module, path in MODULES.items():
        tree = ast.parse(path.read_text(), str(path))
        found = set()
        for node in ast.walk(tree):
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                found.update(t for t in _resolve(module, node) if t != module)
        edges[module] = found
    return edges


EDGES = _edges()


def _layer(module):
    parts = module.split(".")
    top = parts[1] if len(parts) > 1 else ""
    for i, names in enumerate(LAYERS):
        if top in names:
            return i
    raise AssertionError(f"module {module} is in no layer: add it to LAYERS in {__file__}")


def test_every_module_is_in_a_layer():
    for module in MODULES:
        _layer(module)


def test_no_module_imports_a_layer_above_it():
    bad = sorted(f"{a} -> {b}" for a, targets in EDGES.items() for b in targets
                 if _layer(b) > _layer(a) and (a, b) not in ALLOWED_UPWARD and not a.endswith("__main__"))
    assert not bad, "imports upward:\n" + "\n".join(bad)


def test_the_numerics_core_imports_nothing_above_it():
    core = [m for m in MODULES if m == "fokkerplanck.flow" or m.startswith("fokkerplanck.flow.")]
    assert len(core) > 10
    bad = sorted(f"{a} -> {b}" for a in core for b in EDGES[a]
                 if _layer(b) > _layer(a) and (a, b) not in ALLOWED_UPWARD)
    assert not bad, bad
    # the allowed exception is exactly one import, inside Solution.plot
    assert EDGES["fokkerplanck.flow.solution"] & {"fokkerplanck.plot"} == {"fokkerplanck.plot"}


def test_no_import_circles():
    graph = {a: {b for b in targets if not b.endswith("__main__") and (a, b) not in ALLOWED_UPWARD}
             for a, targets in EDGES.items() if not a.endswith("__main__")}
    index, low, stack, on_stack, circles, counter = {}, {}, [], set(), [], [0]

    def strongconnect(v):  # Tarjan's strongly connected components
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on_stack.add(v)
        for w in graph.get(v, ()):
            if w not in index:
                strongconnect(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                circles.append(sorted(comp))

    for v in sorted(graph):
        if v not in index:
            strongconnect(v)
    assert not circles, "import circles:\n" + "\n".join(" <-> ".join(c) for c in circles)


@pytest.mark.parametrize("module", sorted(MODULES))
def test_no_module_over_600_lines(module):
    n = len(MODULES[module].read_text().splitlines())
    assert n <= MAX_LINES, f"{MODULES[module]} has {n} lines (at most {MAX_LINES}); split it by job"
