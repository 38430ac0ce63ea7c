"""Connector tests: ``async def`` tests run on a fresh event loop each (no plugin needed)."""

from __future__ import annotations

import asyncio
import inspect
import logging

import pytest
from sanic import Sanic

# Several Sanic apps start in one process: test mode makes Sanic's start-up "touch-up" of its
# request handler repeatable (what sanic-testing does).
Sanic.test_mode = True

ASYNC_TEST_TIMEOUT = 60.0


@pytest.hookimpl(tryfirst=True)
def pytest_pyfunc_call(pyfuncitem: pytest.Function):  # type: ignore[no-untyped-def]
    if inspect.iscoroutinefunction(pyfuncitem.obj):
        args = {name: pyfuncitem.funcargs[name] for name in pyfuncitem._fixtureinfo.argnames}
        asyncio.run(asyncio.wait_for(pyfuncitem.obj(**args), ASYNC_TEST_TIMEOUT))
        return True
    return None


@pytest.fixture(autouse=True)
def _quiet_libraries() -> None:
    logging.getLogger("sanic.root").setLevel(logging.WARNING)
    logging.getLogger("sanic.access").setLevel(logging.WARNING)
