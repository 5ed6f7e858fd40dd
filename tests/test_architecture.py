"""The import rule of docs/architecture.md, held for every module of ours, and no import cycles."""

from __future__ import annotations

import ast
import functools
from collections.abc import Iterable, Mapping
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OURS = ("api", "matching", "sql", "web", "workers")
EVERYTHING = OURS

# Which of our rooms each room may import (docs/architecture.md, "Which room may import which"). Every module of
# ours falls under exactly one rule: the most specific room that contains it.
ALLOWED: dict[str, tuple[str, ...]] = {
    "matching": ("matching",),
    "sql": ("sql",),
    "api": (),  # the package's own __init__
    "api.settings": (),
    "api.security": (),
    "api.i18n": (),
    "api.logs": (),
    "api.observe": ("api.services", "api.logs", "api.settings"),
    "api.services": ("api.services", "api.security", "sql", "matching"),
    "api.schemas": ("api.schemas", "api.services", "sql"),
    "api.auth": ("api.services", "api.security", "api.i18n"),
    "api.errors": ("api.services", "api.auth", "api.i18n"),
    "api.routes": ("api.routes", "api.services", "api.schemas", "api.auth", "api.errors"),
    "api.demo": ("api.demo", "api.services", "api.security", "api.settings", "sql", "matching"),
    "api.dev": ("api.dev", "api.demo", "api.settings", "sql"),
    # The composition root wires everything; the command line starts every process and runs the benches.
    "api.app": EVERYTHING,
    "api.cli": EVERYTHING,
    "web": ("web", "api.services", "api.auth", "api.errors", "api.i18n"),
    "workers": ("workers", "api.services", "api.settings"),
}


def module_name(path: Path) -> str:
    """Dotted module name of a file in the repository."""
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imported_names(source: str) -> set[str]:
    """Every dotted name of ours that a module's source imports (modules and names inside them)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            # `from api import security` imports api.security, not the whole `api` package.
            if node.module not in OURS:
                found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
    return {name for name in found if name.split(".")[0] in OURS}


def source_files() -> list[Path]:
    """Every Python file of ours."""
    return sorted(p for top in OURS for p in (ROOT / top).rglob("*.py") if ".venv" not in p.parts)


# Read once per process: three tests walk the same files, which do not change during a run.
@functools.cache
def project_imports() -> dict[str, set[str]]:
    """Each module of ours and the names of ours it imports, read from the files."""
    return {module_name(p): imported_names(p.read_text(encoding="utf-8")) for p in source_files()}


def within(name: str, prefix: str) -> bool:
    """Whether a dotted name is the prefix or inside it."""
    return name == prefix or name.startswith(prefix + ".")


def room_of(module: str) -> str | None:
    """The room whose rule governs a module (the most specific one)."""
    rooms = sorted((room for room in ALLOWED if within(module, room)), key=len, reverse=True)
    return rooms[0] if rooms else None


def violations(imports: Mapping[str, Iterable[str]]) -> list[str]:
    """Modules without a rule and imports that break theirs, as readable lines."""
    problems: list[str] = []
    for module, names in imports.items():
        room = room_of(module)
        if room is None:
            problems.append(f"{module} has no rule in ALLOWED")
            continue
        problems.extend(
            f"{module} ({room}) imports {name}"
            for name in names
            if not within(name, module) and not any(within(name, allowed) for allowed in ALLOWED[room])
        )
    return sorted(problems)


def module_graph(imports: Mapping[str, Iterable[str]]) -> dict[str, set[str]]:
    """Module → the modules of ours it imports (a name inside a module counts as that module)."""
    graph: dict[str, set[str]] = {}
    for module, names in imports.items():
        targets: set[str] = set()
        for name in names:
            # The longest known module that is the name or contains it: `sql.needs.NeedRow` is `sql.needs`.
            parts = name.split(".")
            for end in range(len(parts), 0, -1):
                candidate = ".".join(parts[:end])
                if candidate in imports:
                    targets.add(candidate)
                    break
        targets.discard(module)
        graph[module] = targets
    return graph


def cycles(graph: Mapping[str, set[str]]) -> list[list[str]]:
    """The strongly connected groups of more than one module (Tarjan), each sorted, the groups sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    groups: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in sorted(graph.get(node, ())):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            group: list[str] = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                group.append(member)
                if member == node:
                    break
            if len(group) > 1:
                groups.append(sorted(group))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return sorted(groups)


def package_inits(imports: Mapping[str, Iterable[str]]) -> dict[str, set[str]]:
    """The graph without edges into package __init__ modules, which only name their package."""
    packages = {module_name(p) for p in source_files() if p.name == "__init__.py"}
    return {m: {t for t in targets if t not in packages} for m, targets in module_graph(imports).items()}


def test_every_module_follows_the_import_rule():
    assert violations(project_imports()) == []


def test_every_module_has_a_rule():
    assert [m for m in project_imports() if room_of(m) is None] == []


def test_no_import_cycles():
    assert cycles(package_inits(project_imports())) == []


def test_the_checker_catches_a_forbidden_import_and_a_module_without_a_rule():
    imports = {
        "matching.probe": {"sql.accounts", "matching.common"},
        "sql.accounts": set(),
        "matching.common": set(),
        "elsewhere.module": set(),
    }
    assert violations(imports) == [
        "elsewhere.module has no rule in ALLOWED",
        "matching.probe (matching) imports sql.accounts",
    ]


def test_the_checker_finds_a_cycle_through_names_inside_modules():
    imports = {
        "matching.a": {"matching.b._helper"},
        "matching.b": {"matching.c"},
        "matching.c": {"matching.a.Result"},
        "matching.d": {"matching.a"},
    }
    assert cycles(module_graph(imports)) == [["matching.a", "matching.b", "matching.c"]]


def test_the_rule_reads_function_level_imports_too():
    source = "def f():\n    from sql import needs\n    import web.routes\n"
    assert imported_names(source) == {"sql.needs", "web.routes"}


def test_services_do_not_import_litestar():
    for path in (ROOT / "api" / "services").rglob("*.py"):
        text = path.read_text(encoding="utf-8")
        assert "litestar" not in text, f"{path} imports litestar: use cases stay framework-free"
