"""The engine's layers stay in order: no import cycles, no import upwards, no Qt, no module too long.

Every import of every module counts, at module level and inside functions alike (a lazy import upwards is
still a dependency upwards). The order is the one docs/architecture.md draws.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
ENGINE = ROOT / "engine"
MAX_LINES = 500

# Lowest first. A module may import a module of a lower layer, or one of its own package (engine.io,
# engine.text, ...), never one above it, nor another package of its own layer (the plain data of the first
# layer excepted: config reads errors).
LAYERS: list[tuple[str, ...]] = [
    ("engine", "engine.config", "engine.errors", "engine.paths", "engine.notices"),  # plain data
    ("engine.io", "engine.text"),  # model files; tokenizer and harmony
    ("engine.quant",),  # weight formats (pure tensor functions)
    ("engine.kernels",),  # Triton kernels and their torch references
    ("engine.layers",),  # attention, rotary, KV cache, MoE, expert stores
    ("engine.model",),  # Block and Transformer
    ("engine.placement",),  # budgets, sizes, plans, devices
    ("engine.offload",),  # host experts, device slots, building a placed model
    ("engine.runtime",),  # loading, sampling, decode graphs, sessions
    ("engine.hub", "engine.remote"),  # model manager; models on other servers
    ("engine.cli", "engine.server", "engine.__main__"),  # what users run
]
FORBIDDEN = ("app", "PySide6", "shiboken6", "PyQt5", "PyQt6")


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


MODULES = {module_name(p): p for p in sorted(ENGINE.rglob("*.py"))}


def package_of(name: str) -> str:
    """The layer entry a module belongs to: the longest prefix named in LAYERS."""
    best = ""
    for entries in LAYERS:
        for entry in entries:
            if (name == entry or name.startswith(entry + ".")) and len(entry) > len(best):
                best = entry
    assert best, f"{name} is in no layer: add its package to LAYERS in {__file__} and to docs/architecture.md"
    return best


def layer_of(name: str) -> int:
    package = package_of(name)
    return next(i for i, entries in enumerate(LAYERS) if package in entries)


def imports_of(name: str) -> set[str]:
    """Every module ``name`` imports (engine modules resolved to files; others by their top-level name)."""
    path = MODULES[name]
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    is_package = path.name == "__init__.py"
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:  # relative: from the module's package
                base = name.split(".") if is_package else name.split(".")[:-1]
                base = base[: len(base) - (node.level - 1)]
                source = ".".join(base + ([node.module] if node.module else []))
            else:
                source = node.module or ""
            for alias in node.names:
                sub = f"{source}.{alias.name}"
                found.add(sub if sub in MODULES else source)
    resolved = set()
    for target in found:
        while target.startswith("engine") and target not in MODULES:  # engine.x.Name -> engine.x
            target = target.rpartition(".")[0]
        resolved.add(target)
    resolved.discard(name)
    return resolved


GRAPH = {name: {t for t in imports_of(name) if t in MODULES} for name in MODULES}


def test_every_engine_module_has_a_layer():
    """Each module under engine/ belongs to a package the layer order names."""
    for name in MODULES:
        package_of(name)


def test_no_module_imports_a_higher_layer_or_a_sibling_package():
    """An import goes down the layers, or stays inside the module's own package."""
    wrong = []
    for name, targets in GRAPH.items():
        for target in targets:
            if package_of(target) == package_of(name) or layer_of(target) < layer_of(name):
                continue
            if layer_of(target) == layer_of(name) == 0:  # plain data: one group, kept acyclic below
                continue
            wrong.append(f"{name} (layer {layer_of(name)}) imports {target} (layer {layer_of(target)})")
    assert not wrong, "\n".join(wrong)


def test_no_import_cycles():
    """The import graph of engine/ has no cycle (module-level and function-level imports together)."""
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def visit(name: str) -> None:
        state[name] = 1
        path.append(name)
        for target in sorted(GRAPH[name]):
            if state.get(target) == 1:
                cycle = path[path.index(target) :] + [target]
                pytest.fail("import cycle: " + " -> ".join(cycle))
            if target not in state:
                visit(target)
        path.pop()
        state[name] = 2

    for name in sorted(GRAPH):
        if name not in state:
            visit(name)


def test_engine_imports_neither_the_app_nor_qt():
    """engine/ stands alone: no import of app/ or of any Qt binding, even inside a function."""
    wrong = [
        f"{name} imports {target}"
        for name in MODULES
        for target in imports_of(name)
        if target.split(".")[0] in FORBIDDEN
    ]
    assert not wrong, "\n".join(wrong)


@pytest.mark.parametrize("package", ["engine"])
def test_no_module_is_over_500_lines(package):
    """Modules stay small enough to read: split one past 500 lines."""
    long = {
        str(p.relative_to(ROOT)): n
        for p in sorted((ROOT / package).rglob("*.py"))
        if (n := len(p.read_text(encoding="utf-8").splitlines())) > MAX_LINES
    }
    assert not long, f"over {MAX_LINES} lines: {long}"


def test_the_checker_sees_a_cycle_and_an_upward_import():
    """The resolution above finds the imports it must judge (a guard against a checker that sees nothing)."""
    assert "engine.runtime.session" in {t for t in GRAPH["engine.cli.generate"]} | {
        u for t in GRAPH["engine.cli.generate"] for u in GRAPH.get(t, ())
    }
    assert "engine.kernels" in GRAPH["engine.layers.moe"]
    assert "engine.text.harmony.events" in GRAPH["engine.text.harmony.parser"]
    assert layer_of("engine.runtime.session") > layer_of("engine.model") > layer_of("engine.layers.attention")
