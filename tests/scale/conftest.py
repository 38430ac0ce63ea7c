"""Several instances of the assistant sharing PostgreSQL and Redis.

``async def`` tests run on a fresh event loop each (as in tests/connector). The connector's test
support (``wa_support``: a fake Graph API and the real webhook blueprint on a local Sanic server)
is reused from tests/connector. Tests that need Redis or PostgreSQL skip when these do not answer
on 127.0.0.1 (they do on the project's machines).
"""

from __future__ import annotations

import asyncio
import inspect
import logging
import sys
import uuid
from pathlib import Path
from typing import Iterator

import pytest
from sanic import Sanic

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "connector"))

from scale_cluster import REDIS_URL, redis_available  # noqa: E402

# Several Sanic apps start in one process (see tests/connector/conftest.py).
Sanic.test_mode = True

ASYNC_TEST_TIMEOUT = 120.0


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


@pytest.fixture
def redis_url() -> str:
    if not redis_available():
        pytest.skip("Redis does not answer on 127.0.0.1:6379")
    return REDIS_URL


@pytest.fixture
def order_prefix(redis_url: str) -> Iterator[str]:
    """A key prefix of this test's own; its keys are deleted afterwards."""
    prefix = f"lwtest:order:{uuid.uuid4().hex[:10]}"
    yield prefix
    import redis

    client = redis.Redis.from_url(redis_url)
    keys = list(client.scan_iter(f"{prefix}:*"))
    if keys:
        client.delete(*keys)
    client.close()
