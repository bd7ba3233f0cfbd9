"""The layout's rules, checked over the source's AST rather than by review.

docs/architecture.md describes the layers; these tests hold the code to them: each
package imports only from layers at or below its own, no two modules import each other
(directly or round a loop, function-local imports included; an import under
``if TYPE_CHECKING:`` is only a type hint and does not count), ``engine/`` holds only
domain packages, and no module grows past what one can read at once.
"""

from __future__ import annotations

import ast
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent

#: Top-level folders and the import names they are installed as (pyproject's package-dir).
ROOTS = {
    "rapport": "rapport",
    "channels": "rapport.channels",
    "engine": "rapport.engine",
    "consent": "rapport.consent",
    "migrations": "rapport.migrations",
}

#: Bottom to top: a module may import from its own layer and the layers below it.
#: ``channels`` knows nothing of the engine; ``engine.core`` may look adapters up by
#: name in it. Everything from ``engine.runtime`` up is an entry point: nothing below
#: imports it.
LAYERS: list[tuple[str, ...]] = [
    ("rapport", "rapport.channels"),
    ("rapport.engine", "rapport.engine.core", "rapport.migrations"),
    ("rapport.consent",),
    ("rapport.engine.customers",),
    ("rapport.engine.triggers",),
    ("rapport.engine.rendering",),
    ("rapport.engine.campaigns",),
    ("rapport.engine.delivery",),
    ("rapport.engine.planning",),
    ("rapport.engine.reports",),
    ("rapport.engine.runtime",),
    ("rapport.engine.web",),
    ("rapport.engine.cli", "rapport.engine.api"),
]

DOMAIN_PACKAGES = {
    "core",
    "customers",
    "campaigns",
    "triggers",
    "planning",
    "rendering",
    "delivery",
    "reports",
    "runtime",
    "cli",
    "web",
}

MAX_LINES = 500


def source_modules() -> dict[str, Path]:
    """Every module of the installed ``rapport`` namespace, by import name."""
    found: dict[str, Path] = {}
    for folder, package in ROOTS.items():
        for path in sorted((REPO / folder).rglob("*.py")):
            parts = list(path.relative_to(REPO / folder).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            found[".".join([package, *parts])] = path
    return found


MODULES = source_modules()


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    if isinstance(test, ast.Name):
        return test.id == "TYPE_CHECKING"
    return isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"


def _import_nodes(tree: ast.AST) -> Iterator[ast.Import | ast.ImportFrom]:
    """Every import statement at any depth, except those under ``if TYPE_CHECKING:``."""
    pending: list[ast.AST] = [tree]
    while pending:
        node = pending.pop()
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.If) and _is_type_checking(child):
                pending.extend(child.orelse)
            elif isinstance(child, ast.Import | ast.ImportFrom):
                yield child
            else:
                pending.append(child)


def _known(name: str) -> str | None:
    """The module an imported name belongs to (``a.b.func`` -> ``a.b``), if ours."""
    while name and name not in MODULES:
        name = name.rpartition(".")[0]
    return name or None


def imports_of(module: str) -> set[str]:
    """The rapport modules ``module`` imports, wherever in the file the import sits."""
    path = MODULES[module]
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found: set[str] = set()
    for node in _import_nodes(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        else:
            base = node.module or ""
            if node.level:
                anchor = package.split(".")
                anchor = anchor[: len(anchor) - node.level + 1]
                base = ".".join([*anchor, *([base] if base else [])])
            names = [f"{base}.{alias.name}" for alias in node.names]
        for name in names:
            target = _known(name)
            if target is not None and target != module:
                found.add(target)
    return found


GRAPH = {module: imports_of(module) for module in MODULES}


def layer_of(module: str) -> int:
    best, depth = -1, -1
    for index, packages in enumerate(LAYERS):
        for package in packages:
            if (module == package or module.startswith(package + ".")) and len(package) > depth:
                best, depth = index, len(package)
    assert best >= 0, f"{module} is in no layer: add its package to LAYERS"
    return best


def strongly_connected(graph: dict[str, set[str]]) -> list[list[str]]:
    """Tarjan's algorithm, iteratively: the groups of modules that import each other."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    groups: list[list[str]] = []
    for root in sorted(graph):
        if root in index:
            continue
        work: list[tuple[str, Iterator[str]]] = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph[child]))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
            if low[node] == index[node]:
                group = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    group.append(member)
                    if member == node:
                        break
                if len(group) > 1:
                    groups.append(sorted(group))
    return groups


def test_no_two_modules_import_each_other_directly_or_round_a_loop() -> None:
    cycles = strongly_connected(GRAPH)
    described = [
        " <-> ".join(group)
        + ": "
        + "; ".join(f"{m} imports {', '.join(sorted(GRAPH[m] & set(group)))}" for m in group)
        for group in cycles
    ]
    assert not described, "\n".join(described)


def test_every_module_imports_only_from_its_layer_or_below() -> None:
    upward = [
        f"{module} (layer {layer_of(module)}) imports {target} (layer {layer_of(target)})"
        for module, targets in sorted(GRAPH.items())
        for target in sorted(targets)
        if layer_of(target) > layer_of(module)
    ]
    assert not upward, "\n".join(upward)


def test_channels_import_nothing_from_the_engine_or_consent() -> None:
    leaks = [
        f"{module} imports {target}"
        for module, targets in GRAPH.items()
        if module.startswith("rapport.channels")
        for target in targets
        if not target.startswith("rapport.channels")
    ]
    assert not leaks


def test_consent_imports_only_engine_core() -> None:
    leaks = [
        f"{module} imports {target}"
        for module, targets in GRAPH.items()
        if module.startswith("rapport.consent")
        for target in targets
        if not target.startswith(("rapport.consent", "rapport.engine.core"))
    ]
    assert not leaks


def test_engine_core_imports_nothing_above_it() -> None:
    leaks = [
        f"{module} imports {target}"
        for module, targets in GRAPH.items()
        if module.startswith("rapport.engine.core")
        for target in targets
        if not target.startswith(("rapport.engine.core", "rapport.channels", "rapport.migrations"))
    ]
    assert not leaks


@pytest.mark.parametrize("entry", ["cli", "web", "api", "runtime"])
def test_no_domain_package_imports_an_entry_point(entry: str) -> None:
    """cli, web, api and runtime sit on top: the domain never reaches up into them
    (runtime builds services that web and cli use, so those two may import it)."""
    allowed = {
        "runtime": ("rapport.engine.runtime", "rapport.engine.web", "rapport.engine.cli"),
        "web": ("rapport.engine.web", "rapport.engine.cli"),
        "cli": ("rapport.engine.cli",),
        "api": ("rapport.engine.api", "rapport.engine.cli"),
    }[entry]
    leaks = [
        f"{module} imports {target}"
        for module, targets in GRAPH.items()
        for target in targets
        if target.startswith(f"rapport.engine.{entry}") and not module.startswith(allowed)
    ]
    assert not leaks


def test_engine_holds_only_domain_packages() -> None:
    loose = [p.name for p in (REPO / "engine").glob("*.py") if p.name != "__init__.py"]
    packages = {
        p.name for p in (REPO / "engine").iterdir() if p.is_dir() and (p / "__init__.py").exists()
    }
    assert not loose
    assert packages <= DOMAIN_PACKAGES | {"api"}
    assert packages >= DOMAIN_PACKAGES


def test_no_module_is_longer_than_one_can_read_at_once() -> None:
    """Source, tests, benchmarks and scripts alike: every Python file git knows."""
    tracked = [
        REPO / name
        for name in subprocess.run(
            ["git", "ls-files", "*.py"], cwd=REPO, capture_output=True, text=True, check=True
        ).stdout.split()
    ]
    assert len(tracked) > 100  # the listing worked
    long = {
        str(path.relative_to(REPO)): lines
        for path in sorted({*tracked, *MODULES.values()})
        if path.exists()
        and (lines := len(path.read_text(encoding="utf-8").splitlines())) > MAX_LINES
    }
    assert not long


def test_the_cycle_finder_finds_a_cycle_through_a_function_local_import() -> None:
    """The checks above are only as good as the graph: a loop hidden in a function
    body, the way the old cli <-> commands loop was, must be seen."""
    source = "def f():\n    from rapport.engine.core import db\n"
    local = {
        target
        for node in _import_nodes(ast.parse(source))
        for target in [_known(f"{node.module}.{node.names[0].name}")]  # type: ignore[union-attr]
    }
    assert local == {"rapport.engine.core.db"}
    assert strongly_connected({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    hinted = "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    import rapport.engine.cli\n"
    assert [n for n in _import_nodes(ast.parse(hinted)) if isinstance(n, ast.Import)] == []
