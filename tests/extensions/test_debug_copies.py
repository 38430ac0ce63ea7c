"""Rasa's deep copies for debug lines are skipped only when structlog drops debug lines, and only
in modules where every deep copy feeds a debug line."""
from __future__ import annotations

import ast
import inspect
import logging
from typing import Iterator, List

import pytest
import structlog
from rasa.utils.log_utils import configure_structlog

from rasa_extensions import debug_copies


def deepcopies_outside_debug_lines(source: str) -> List[int]:
    """Line numbers of ``copy.deepcopy(...)`` calls that are not inside ``structlogger.debug(...)``."""
    outside: List[int] = []

    def visit(node: ast.AST, in_debug_line: bool) -> None:
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and isinstance(node.func.value, ast.Name):
            target = (node.func.value.id, node.func.attr)
            if target == ("copy", "deepcopy") and not in_debug_line:
                outside.append(node.lineno)
            in_debug_line = in_debug_line or target == ("structlogger", "debug")
        for child in ast.iter_child_nodes(node):
            visit(child, in_debug_line)

    visit(ast.parse(source), False)
    return outside


@pytest.mark.parametrize("module", debug_copies.PATCHED_MODULES, ids=lambda m: m.__name__)
def test_every_deep_copy_in_a_patched_module_feeds_a_debug_line(module) -> None:  # type: ignore[no-untyped-def]
    source = inspect.getsource(module)
    assert "copy.deepcopy(" in source
    assert deepcopies_outside_debug_lines(source) == []


def test_the_check_finds_a_deep_copy_used_for_anything_else() -> None:
    source = "import copy\nstructlogger.debug('x', a=copy.deepcopy(a))\nb = copy.deepcopy(a)\n"
    assert deepcopies_outside_debug_lines(source) == [3]


@pytest.fixture()
def restore_structlog() -> Iterator[None]:
    saved = structlog.get_config()
    yield
    structlog.configure(**saved)


@pytest.mark.parametrize("level", [logging.INFO, logging.WARNING, logging.ERROR])
def test_no_copy_when_debug_lines_are_dropped(restore_structlog: None, level: int) -> None:
    configure_structlog(level)
    events = [{"event": "slot", "value": ["a"]}]
    assert debug_copies.deepcopy_if_logged(events) is events


def test_a_real_copy_when_debug_lines_are_logged(restore_structlog: None) -> None:
    configure_structlog(logging.DEBUG)
    events = [{"event": "slot", "value": ["a"]}]
    copied = debug_copies.deepcopy_if_logged(events)
    assert copied == events and copied is not events and copied[0]["value"] is not events[0]["value"]


def test_the_patched_modules_keep_the_rest_of_copy() -> None:
    import copy

    for module in debug_copies.PATCHED_MODULES:
        assert module.copy.deepcopy is debug_copies.deepcopy_if_logged
        assert module.copy.copy is copy.copy
