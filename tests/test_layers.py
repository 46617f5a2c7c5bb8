"""The layers as packages: imports run one way (down the ranks below) and form no cycle.

Read from the source with ``ast`` (no import runs); every ``import`` counts, at module level or
inside a function. Run as a script, it prints the graph the test checks.
"""

from __future__ import annotations

import ast
from pathlib import Path

ARLIB = Path(__file__).resolve().parents[1] / "arlib"

#: a module may import modules of its own rank or lower; higher ranks are the outer layers
RANKS = {
    "arlib.errors": 0,
    "arlib.files": 0,
    "arlib.schemas": 0,
    "arlib.i18n": 0,
    "arlib.redact": 0,
    "arlib.paramfile": 0,
    "arlib.bounds": 0,
    "arlib.numbers": 0,
    "arlib.ledger": 1,
    "arlib.dso": 1,
    "arlib.demo": 1,
    "arlib.config": 2,
    "arlib.health": 3,
    "arlib.forecast": 3,
    "arlib.provision": 4,  # its invoicing forecast uses arlib.forecast
    "arlib.report": 5,
    "arlib.io": 6,
    "arlib.run": 7,
    "arlib.cli": 8,
    "arlib": 9,  # the package's own __init__ re-exports from the layers
}


def module_name(path: Path) -> str:
    rel = path.relative_to(ARLIB.parent).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def layer(module: str) -> str:
    """The ranked unit a module belongs to: its top-level package or core module."""
    parts = module.split(".")
    return ".".join(parts[:2]) if len(parts) > 1 else module


def import_graph() -> dict[str, set[str]]:
    modules = {module_name(p): p for p in ARLIB.rglob("*.py")}
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        pkg = name if path.name == "__init__.py" else name.rpartition(".")[0]
        deps = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    up = pkg.split(".")[: len(pkg.split(".")) - node.level + 1]
                    base = ".".join(up + ([base] if base else []))
                targets = [
                    f"{base}.{a.name}" if f"{base}.{a.name}" in modules else base
                    for a in node.names
                ]
            else:
                continue
            for t in targets:
                while t and t not in modules:
                    t = t.rpartition(".")[0]
                if t and t != name and t.startswith("arlib"):
                    deps.add(t)
        graph[name] = deps
    return graph


def upward_imports(graph) -> list[str]:
    bad = []
    for mod, deps in sorted(graph.items()):
        for dep in sorted(deps):
            if layer(dep) == "arlib" and mod != "arlib":
                bad.append(
                    f"{mod} -> {dep} (the package __init__ is for users, not for the layers)"
                )
            elif RANKS[layer(dep)] > RANKS[layer(mod)]:
                bad.append(f"{mod} (rank {RANKS[layer(mod)]}) -> {dep} (rank {RANKS[layer(dep)]})")
    return bad


def cycles(graph) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index, low, stack, on, out, counter = {}, {}, [], set(), [], [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in graph.get(v, ()):
            if w not in index:
                visit(w)
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

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return out


def test_every_module_has_a_rank():
    assert {layer(m) for m in import_graph()} <= set(RANKS)


def test_imports_run_one_way():
    assert upward_imports(import_graph()) == []


def test_no_import_cycles():
    assert cycles(import_graph()) == []


def test_the_checks_catch_an_upward_import_and_a_cycle():
    graph = {
        "arlib.ledger": {"arlib.config"},
        "arlib.config": {"arlib.ledger"},
        "arlib.report.summary": {"arlib.io.load"},
    }
    assert upward_imports(graph) == [
        "arlib.ledger (rank 1) -> arlib.config (rank 2)",
        "arlib.report.summary (rank 5) -> arlib.io.load (rank 6)",
    ]
    assert cycles(graph) == [["arlib.config", "arlib.ledger"]]


if __name__ == "__main__":
    g = import_graph()
    depth: dict[str, int] = {}

    def level(m):
        if m not in depth:
            depth[m] = 0
            depth[m] = 1 + max((level(d) for d in g[m]), default=-1)
        return depth[m]

    for m in sorted(g, key=lambda m: (RANKS[layer(m)], m)):
        print(f"{RANKS[layer(m)]} {m}: {', '.join(sorted(g[m])) or '-'}")
    print(
        f"{len(g)} modules in {len({layer(m) for m in g})} layers, {max(map(level, g)) + 1} import levels; "
        f"upward imports: {len(upward_imports(g))}; cycles: {len(cycles(g))}"
    )
