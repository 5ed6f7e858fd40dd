"""The import rule of ARCHITECTURE.md, held for every module of ours."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OURS = ("api", "matching", "sql", "web", "workers")

# Which of our rooms each room may import (ARCHITECTURE.md, "Which room may import which").
ALLOWED: dict[str, tuple[str, ...]] = {
    "matching": ("matching",),
    "sql": ("sql",),
    "api.services": ("api.services", "api.security", "sql", "matching"),
    "api.routes": ("api.routes", "api.services", "api.schemas", "api.auth", "api.errors"),
    "web": ("web", "api.services", "api.auth", "api.errors", "api.i18n"),
    "workers": ("workers", "api.services", "api.settings"),
}
# Only the composition root (and the command line that starts processes) may reach web, workers and api.routes.
PRIVATE = ("web", "workers", "api.routes")
COMPOSITION = ("api.app", "api.cli", "api.supervisor")


def module_name(path: Path) -> str:
    """Dotted module name of a file in the repository."""
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def our_imports(path: Path) -> set[str]:
    """Every module of ours that a file imports."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            # `from api import security` imports api.security, not the whole `api` package.
            if node.module not in OURS:
                found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
    return {name for name in found if name.split(".")[0] in OURS}


def within(name: str, prefix: str) -> bool:
    """Whether a dotted name is the prefix or inside it."""
    return name == prefix or name.startswith(prefix + ".")


def room_of(module: str) -> str | None:
    """The room whose rule governs a module (the most specific one)."""
    rooms = sorted((room for room in ALLOWED if within(module, room)), key=len, reverse=True)
    return rooms[0] if rooms else None


def source_files() -> list[Path]:
    """Every Python file of ours."""
    return [p for top in OURS for p in (ROOT / top).rglob("*.py")]


def violations() -> list[str]:
    """Imports that break the rule, as readable lines."""
    problems: list[str] = []
    for path in source_files():
        module = module_name(path)
        room = room_of(module)
        for imported in our_imports(path):
            target = imported
            if room is not None and not any(within(target, allowed) for allowed in ALLOWED[room]):
                problems.append(f"{module} ({room}) imports {target}")
            reaches_private = any(within(target, p) for p in PRIVATE) and not any(within(module, p) for p in PRIVATE)
            if reaches_private and module not in COMPOSITION:
                problems.append(f"{module} imports {target}, which only the composition root may import")
    return sorted(problems)


def test_every_module_follows_the_import_rule():
    assert violations() == []


def test_the_checker_catches_a_forbidden_import(tmp_path, monkeypatch):
    bad = ROOT / "matching" / "_architecture_probe.py"
    bad.write_text("from sql import accounts\n", encoding="utf-8")
    try:
        assert "matching._architecture_probe (matching) imports sql.accounts" in violations()
    finally:
        bad.unlink()


def test_services_do_not_import_litestar():
    for path in (ROOT / "api" / "services").rglob("*.py"):
        text = path.read_text(encoding="utf-8")
        assert "litestar" not in text, f"{path} imports litestar: use cases stay framework-free"
