"""Shared fixtures: real databases for the domain core.

Every test that touches storage runs on SQLite (always) and on PostgreSQL where one answers
(``TEST_POSTGRES_URL``, default ``postgresql://postgres@127.0.0.1:5432/test``). Each test gets a
fresh, migrated database: a new SQLite file, or a scratch PostgreSQL database created next to
``test`` and dropped afterwards, so parallel runs never see each other's rows.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Iterator

import pytest

from layanwarga import crypto, db, migrate
from pg_support import TEST_POSTGRES_URL, create_postgres_database, drop_postgres_database, postgres_available

# A fixed data key for the whole test run (subprocesses inherit it), never the developer's own.
os.environ.setdefault(crypto.KEYS_ENV, "tCHSjgfCCDUPkeixTqcmRR2ct3IM-4ZxkZQ2YJVlz8o=")
# Action tests run in this process with a database per test: no background thread may outlive
# one test and act on another's data. End-to-end tests start real action servers, which have it.
os.environ["LAYANWARGA_BACKGROUND"] = "0"


SLOW_FOLDERS = {"e2e", "scale", "fuzz"}
# Folders whose files start real processes (rasa run, action servers, several instances).
PROCESS_FOLDERS = {"e2e", "scale"}
BROWSER_FIXTURES = {"browser", "page", "chromium"}
# Fixtures that load the trained model into the test process (tests/extensions/conftest.py).
MODEL_FIXTURES = {"agent"}


def pytest_collection_modifyitems(config: pytest.Config, items: list) -> None:
    """The ``browser``, ``postgres`` and ``slow`` markers (pytest.ini), from each test's folder,
    module name, fixtures and parameters; and the order in which files are handed out."""
    for item in items:
        path = Path(str(item.fspath))
        fixtures = set(getattr(item, "fixturenames", ()))
        browser = "browser" in path.stem or bool(fixtures & BROWSER_FIXTURES)
        params = getattr(getattr(item, "callspec", None), "params", {})
        if browser:
            item.add_marker(pytest.mark.browser)
        if "postgresql" in params.values() or path.parent.name == "scale":
            item.add_marker(pytest.mark.postgres)
        if browser or path.parent.name in SLOW_FOLDERS or fixtures & MODEL_FIXTURES:
            item.add_marker(pytest.mark.slow)
    # The longest files first, each file's tests kept in their order: those that start real
    # processes or load the trained model, then the other slow ones (browser, fuzz), then the
    # rest. With pytest-xdist (scripts/test.sh) the long files then overlap instead of leaving
    # one worker alone at the end. The sort is stable, so every worker collects the same order.
    rank: dict = {}
    for item in items:
        path = Path(str(item.fspath))
        if path.parent.name in PROCESS_FOLDERS or set(getattr(item, "fixturenames", ())) & MODEL_FIXTURES:
            rank[str(path)] = 0
        elif item.get_closest_marker("slow"):
            rank.setdefault(str(path), 1)
    items.sort(key=lambda item: rank.get(str(item.fspath), 2))


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """A fresh migrated ticket database, once on SQLite and once on PostgreSQL.

    ``DATABASE_URL`` points at it for the test, so code that uses the default URL sees it.
    """
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'tickets.db'}"
    else:
        if not postgres_available():
            pytest.skip(f"PostgreSQL does not answer at {TEST_POSTGRES_URL}")
        url = create_postgres_database()
    monkeypatch.setenv("DATABASE_URL", url)
    migrate.upgrade(url)
    try:
        yield url
    finally:
        db.dispose_engines()
        if request.param == "postgresql":
            drop_postgres_database(url)


@pytest.fixture
def sqlite_url(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """A fresh migrated SQLite ticket database (for tests that need one backend only)."""
    url = f"sqlite:///{tmp_path / 'tickets.db'}"
    monkeypatch.setenv("DATABASE_URL", url)
    migrate.upgrade(url)
    yield url
    db.dispose_engines()
