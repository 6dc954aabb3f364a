"""The import graph as docs/architecture.md draws it: each app imports only the apps below it, and
no two modules import each other, directly or around a loop (imports inside functions count:
a deferred import is still a dependency).

    core <- accounts <- catalog <- schedule <- booking <- payments, notifications, live
         <- waitlist (on booking and notifications) ; reports <- shop

A lower app tells the ones above through signals and registries (``schedule.signals``,
``booking.signals``, ``core.housekeeping``), never by importing them."""

from __future__ import annotations

import ast
from pathlib import Path

import boxoffice

ROOT = Path(boxoffice.__file__).resolve().parent

BELOW: dict[str, set[str]] = {
    "core": set(),
    "accounts": {"core"},
    "catalog": {"core", "accounts"},
    "schedule": {"core", "accounts", "catalog"},
    "booking": {"core", "accounts", "catalog", "schedule"},
    "payments": {"core", "accounts", "catalog", "schedule", "booking"},
    "notifications": {"core", "accounts", "catalog", "schedule", "booking"},
    "live": {"core", "accounts", "catalog", "schedule", "booking"},
    "reports": {"core", "accounts", "catalog", "schedule", "booking", "payments"},
    # Offers freed seats through booking's hold, emails through notifications.
    "waitlist": {"core", "accounts", "catalog", "schedule", "booking", "notifications"},
    # The customer pages sit on top of everything.
    "shop": {
        "core",
        "accounts",
        "catalog",
        "schedule",
        "booking",
        "payments",
        "notifications",
        "live",
        "reports",
        "waitlist",
    },
}


def _module_name(path: Path) -> str:
    parts = ["boxoffice", *path.relative_to(ROOT).with_suffix("").parts]
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path) -> list[tuple[int, str]]:
    """Every ``boxoffice.*`` module ``path`` imports (relative imports resolved)."""
    module = _module_name(path)
    package = module if path.name == "__init__.py" else module.rsplit(".", 1)[0]
    found = []
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - (node.level - 1)]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            if node.module is None or node.level:
                # ``from . import services``: each name may be a module of that package.
                found += [(node.lineno, f"{target}.{alias.name}") for alias in node.names]
            found.append((node.lineno, target))
    return [(line, name) for line, name in found if name.startswith("boxoffice.")]


def _sources() -> list[Path]:
    return sorted(p for p in ROOT.rglob("*.py") if "migrations" not in p.parts)


def _modules() -> set[str]:
    return {_module_name(p) for p in _sources()}


def test_every_app_imports_only_the_apps_below_it():
    upward = []
    for path in _sources():
        if path.parent == ROOT:
            continue  # boxoffice/__init__.py belongs to no app
        app = _module_name(path).split(".")[1]
        for line, name in _imports(path):
            target = name.split(".")[1]
            if target != app and target not in BELOW.get(app, set()):
                upward.append(f"{path.relative_to(ROOT)}:{line} ({app}) imports {name}")
    assert upward == [], "\n".join(upward)


def test_no_import_loops():
    modules = _modules()
    graph: dict[str, set[str]] = {m: set() for m in modules}
    for path in _sources():
        source = _module_name(path)
        for _, name in _imports(path):
            # The deepest real module the import names (``from .models import Booking``).
            while name not in modules and "." in name:
                name = name.rsplit(".", 1)[0]
            if name in modules and name != source and not source.startswith(name + "."):
                graph[source].add(name)

    # Tarjan's strongly connected components: any component of two or more is a loop.
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    loops: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for succ in sorted(graph[node]):
            if succ not in index:
                visit(succ)
                low[node] = min(low[node], low[succ])
            elif succ in on_stack:
                low[node] = min(low[node], index[succ])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                loops.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    assert loops == [], loops
