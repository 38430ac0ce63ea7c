"""The domain core's imports stay untangled: every module imports on its own (no import circle,
no Rasa), no module of the core needs another that needs it back (not even through an import
hidden in a function), and tables are imported from ``layanwarga.models`` only."""

from __future__ import annotations

import ast
import json
import pkgutil
import subprocess
import sys
from pathlib import Path
from typing import Dict, Iterator, List, Set, Tuple

import layanwarga
import layanwarga.models as models

ROOT = Path(__file__).resolve().parents[2]
# The domain core, and the Graph API package it shares with the connector.
CORE_PACKAGES = ("layanwarga", "whatsapp")
# Where code that may touch a table lives (everything but the trained model and local data).
SOURCE_FOLDERS = (
    "layanwarga",
    "whatsapp",
    "connectors",
    "actions",
    "dashboard",
    "scripts",
    "simulator",
    "rasa_extensions",
    "nlu_components",
    "rasa_sdk_plugins",
    "migrations",
    "tests",
)
TABLES = {name for name in models.__all__ if hasattr(getattr(models, name), "__table__")}


def core_modules() -> List[str]:
    """Every module of the domain core, except ``__main__`` files (they run, they are not imported)."""
    names = ["layanwarga"]
    for info in pkgutil.walk_packages(layanwarga.__path__, "layanwarga."):
        if not info.name.endswith(".__main__"):
            names.append(info.name)
    return sorted(names)


# Run in a fresh interpreter: for each module, forget every project module imported so far and
# import that one alone, as a process whose first import it is would.
ISOLATED_IMPORTS = """
import importlib, json, sys, traceback
FIRST_PARTY = ("layanwarga", "whatsapp", "connectors")
results = {}
for name in json.loads(sys.argv[1]):
    for loaded in [m for m in sys.modules if m.split(".")[0] in FIRST_PARTY]:
        del sys.modules[loaded]
    try:
        importlib.import_module(name)
    except Exception:
        results[name] = traceback.format_exc(limit=-3)
        continue
    rasa = sorted(m for m in sys.modules if m.split(".")[0] in ("rasa", "rasa_sdk"))
    if rasa:
        results[name] = "imports Rasa: " + ", ".join(rasa[:3])
print(json.dumps(results))
"""


def test_every_module_of_the_domain_core_imports_on_its_own_without_rasa() -> None:
    names = core_modules()
    assert "layanwarga.models.tickets" in names and "layanwarga.crypto.rotation" in names
    done = subprocess.run(
        [sys.executable, "-c", ISOLATED_IMPORTS, json.dumps(names)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    failures = json.loads(done.stdout.strip().splitlines()[-1])
    assert failures == {}, "\n".join(f"{name}:\n{error}" for name, error in failures.items())


def _module_of(path: Path) -> Tuple[str, bool]:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    is_package = parts[-1] == "__init__"
    return ".".join(parts[:-1] if is_package else parts), is_package


def _imported(node: ast.ImportFrom, module: str, is_package: bool) -> str:
    if not node.level:
        return node.module or ""
    base = module.split(".") if is_package else module.split(".")[:-1]
    base = base[: len(base) - (node.level - 1)]
    return ".".join(base + ([node.module] if node.module else []))


def _exists(module: str) -> bool:
    path = ROOT.joinpath(*module.split("."))
    return path.with_suffix(".py").is_file() or (path / "__init__.py").is_file()


def core_import_graph() -> Dict[str, Set[str]]:
    """Which core module imports which, counting imports anywhere in a module (inside functions
    too: an import hidden there still closes a circle)."""
    graph: Dict[str, Set[str]] = {}
    for package in CORE_PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            module, is_package = _module_of(path)
            targets = graph.setdefault(module, set())
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if isinstance(node, ast.Import):
                    targets.update(alias.name for alias in node.names)
                elif isinstance(node, ast.ImportFrom):
                    target = _imported(node, module, is_package)
                    targets.add(target)
                    targets.update(f"{target}.{a.name}" for a in node.names if _exists(f"{target}.{a.name}"))
            graph[module] = {
                t for t in targets if t.split(".")[0] in CORE_PACKAGES and _exists(t) and t != module
            }
    return graph


def _cycle(graph: Dict[str, Set[str]]) -> List[str]:
    """One import circle of ``graph`` (empty when there is none)."""
    state: Dict[str, int] = {}
    stack: List[str] = []

    def visit(node: str) -> List[str]:
        state[node], _ = 1, stack.append(node)
        for target in sorted(graph.get(node, ())):
            if state.get(target) == 1:
                return stack[stack.index(target) :] + [target]
            if target not in state:
                found = visit(target)
                if found:
                    return found
        state[node], _ = 2, stack.pop()
        return []

    for start in sorted(graph):
        if start not in state:
            found = visit(start)
            if found:
                return found
    return []


def test_no_module_of_the_domain_core_needs_one_that_needs_it_back() -> None:
    graph = core_import_graph()
    assert {"layanwarga.models", "layanwarga.conversation_log"} <= graph["layanwarga.handoff"]
    assert _cycle(graph) == [], " -> ".join(_cycle(graph))


def test_the_circle_check_finds_a_circle_hidden_in_a_function() -> None:
    graph = core_import_graph()
    graph["layanwarga.models.tickets"] = graph["layanwarga.models.tickets"] | {"layanwarga.tickets"}
    circle = _cycle(graph)
    assert circle and circle[0] == circle[-1]


def _python_files() -> Iterator[Path]:
    for folder in SOURCE_FOLDERS:
        yield from sorted((ROOT / folder).rglob("*.py"))


def _behaviour_module(name: str) -> bool:
    """A module of the domain core other than the models package."""
    return name.split(".")[0] == "layanwarga" and not name.startswith("layanwarga.models")


def table_imports_outside_models(path: Path, source: str) -> List[str]:
    """Where ``source`` (the module at ``path``) takes a table from a module other than
    ``layanwarga.models``: ``from layanwarga.handoff import Handoff``, ``notifications.Notification``."""
    module, is_package = _module_of(path)
    if module.startswith("layanwarga.models"):
        return []
    found = []
    tree = ast.parse(source)
    behaviour_modules: Dict[str, str] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            origin = _imported(node, module, is_package)
            for alias in node.names:
                full = f"{origin}.{alias.name}"
                if _behaviour_module(origin) and alias.name in TABLES:
                    found.append(f"{path.relative_to(ROOT)}:{node.lineno} from {origin} import {alias.name}")
                if _behaviour_module(full) and _exists(full):
                    behaviour_modules[alias.asname or alias.name] = full
        elif isinstance(node, ast.Import):
            behaviour_modules.update(
                (alias.asname, alias.name)
                for alias in node.names
                if alias.asname and _behaviour_module(alias.name)
            )
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Attribute)
            and node.attr in TABLES
            and isinstance(node.value, ast.Name)
            and node.value.id in behaviour_modules
        ):
            found.append(f"{path.relative_to(ROOT)}:{node.lineno} {node.value.id}.{node.attr}")
    return found


def test_tables_are_imported_from_the_models_package_only() -> None:
    """A module that needs a table imports it from ``layanwarga.models``, never through another
    behaviour module (which would tie it to that module's behaviour, and bring back circles)."""
    found = [
        hit
        for path in _python_files()
        for hit in table_imports_outside_models(path, path.read_text(encoding="utf-8"))
    ]
    assert found == []


def test_the_table_check_finds_a_table_taken_through_a_behaviour_module() -> None:
    source = (
        "from layanwarga import notifications\n"
        "from .handoff import Handoff\n"
        "rows = notifications.Notification\n"
    )
    found = table_imports_outside_models(ROOT / "layanwarga" / "example.py", source)
    assert found == [
        "layanwarga/example.py:2 from layanwarga.handoff import Handoff",
        "layanwarga/example.py:3 notifications.Notification",
    ]
