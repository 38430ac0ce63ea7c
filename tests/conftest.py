"""Shared fixtures: real databases for the domain core.

Every test that touches storage runs on SQLite (always) and on PostgreSQL where one answers
(``TEST_POSTGRES_URL``, default ``postgresql://postgres@127.0.0.1:5432/test``). Each test gets a
fresh, migrated database: a new SQLite file, or a scratch PostgreSQL database created next to
``test`` and dropped afterwards, so parallel runs never see each other's rows. Each test process
migrates one database per backend once and copies it for every test (a file copy, ``CREATE
DATABASE … TEMPLATE``): the same schema and rows as migrating afresh, without running every
migration for each of some 1,500 tests (0.3–0.5 s each).
"""

from __future__ import annotations

import json
import os
import shutil
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Dict, Iterable, Iterator, List, Optional, Set

import pytest
from sqlalchemy.engine import make_url

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
# Session fixtures that start something costly once per test process: every file that uses
# one is handed to the same worker (one work unit), so it starts once per run, not once per
# worker (the WhatsApp stack: rasa run, an action server and the simulator, about 20 s of CPU;
# the trained model loaded in-process, about 10 s).
SHARED_FIXTURE_UNITS = {"whatsapp_stack": "shared:whatsapp_stack", "agent": "shared:agent"}
# How long each test file took in a full run (``scripts/junit_files.py --save``): the order in
# which work units are handed out. A file not listed yet counts as long as its kind usually takes.
DURATIONS = Path(__file__).with_name("durations.json")
GUESS_SECONDS = {"processes": 60.0, "slow": 20.0, "other": 5.0}


def recorded_durations() -> Dict[str, float]:
    try:
        return {name: float(seconds) for name, seconds in json.loads(DURATIONS.read_text()).items()}
    except FileNotFoundError:
        return {}


def work_unit(file: str, fixtures: Iterable[str]) -> str:
    """The work unit a test belongs to: its file, or the unit of a shared fixture it uses."""
    for fixture, unit in SHARED_FIXTURE_UNITS.items():
        if fixture in fixtures:
            return unit
    return file


@pytest.hookimpl(tryfirst=True)  # before pytest-xdist's worker reads the xdist_group markers
def pytest_collection_modifyitems(config: pytest.Config, items: list) -> None:
    """The ``browser``, ``postgres`` and ``slow`` markers (pytest.ini), from each test's folder,
    module name, fixtures and parameters; each test's work unit; and the order of the units.

    pytest-xdist (scripts/test.sh, ``--dist loadgroup --no-loadscope-reorder``) runs each work
    unit whole on one worker: a file, so its module fixtures start once, or every file of a
    shared fixture. The longest units go first, each file's tests kept in their order, so the
    long ones overlap instead of leaving one worker alone at the end. The sort is stable and the
    durations are a committed file: every worker collects the same order on every run.
    """
    recorded = recorded_durations()
    root = Path(str(config.rootpath))
    seconds: Dict[str, float] = {}
    unit_of: Dict[pytest.Item, str] = {}
    files: Dict[str, Set[str]] = {}
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
        name = path.relative_to(root).as_posix() if path.is_relative_to(root) else str(path)
        if path.parent.name in PROCESS_FOLDERS or fixtures & MODEL_FIXTURES:
            guess = GUESS_SECONDS["processes"]
        elif item.get_closest_marker("slow"):
            guess = GUESS_SECONDS["slow"]
        else:
            guess = GUESS_SECONDS["other"]
        seconds[name] = recorded.get(name, max(seconds.get(name, 0.0), guess))
        unit_of[item] = work_unit(name, fixtures)
        files.setdefault(unit_of[item], set()).add(name)
        item.add_marker(pytest.mark.xdist_group(unit_of[item]))
    unit_seconds = {unit: sum(seconds[name] for name in names) for unit, names in files.items()}
    items.sort(key=lambda item: (-unit_seconds[unit_of[item]], unit_of[item]))


class MigratedTemplates:
    """A migrated ticket database per backend, made once per test process and copied per test.

    The migrations' data steps only rewrite existing rows, so a copy of a fresh migrated database
    is the database a fresh migration gives, whatever the test's settings. PostgreSQL copies the
    template in 0.1–0.4 s and drops a database in 0.05–1 s (``DROP DATABASE`` waits for a
    checkpoint), mostly waiting on the disk: the next test's copy is made, and the last test's
    dropped, in background threads while the current test runs.
    """

    def __init__(self, directory: Path) -> None:
        self._directory = directory
        self._sqlite: Optional[Path] = None
        self._postgres: Optional[str] = None
        self._copier = ThreadPoolExecutor(max_workers=1, thread_name_prefix="pg-template-copy")
        self._next_copy: Optional["Future[str]"] = None
        self._dropper = ThreadPoolExecutor(max_workers=1, thread_name_prefix="pg-drop")
        self._drops: List["Future[None]"] = []

    def sqlite(self, target: Path) -> str:
        """A migrated SQLite database at ``target``; its URL."""
        if self._sqlite is None:
            template = self._directory / "tickets.db"
            migrate.upgrade(f"sqlite:///{template}")
            db.dispose_engines()
            self._sqlite = template
        for suffix in ("", "-wal"):  # the write-ahead log holds committed pages until a checkpoint
            source = self._sqlite.with_name(self._sqlite.name + suffix)
            if source.exists():
                shutil.copyfile(source, target.with_name(target.name + suffix))
        return f"sqlite:///{target}"

    def postgresql(self) -> str:
        """A new migrated scratch PostgreSQL database, used by nothing else; its URL."""
        if self._postgres is None:
            template = create_postgres_database()
            migrate.upgrade(template)
            db.dispose_engines()  # a template must have no open connection when it is copied
            self._postgres = template
        copy = self._next_copy.result() if self._next_copy is not None else self._copy()
        self._next_copy = self._copier.submit(self._copy)
        return copy

    def _copy(self) -> str:
        assert self._postgres is not None
        return create_postgres_database(template=make_url(self._postgres).database)

    def discard(self, url: str) -> None:
        """Drop a test's database in the background (its connections are ended first)."""
        for finished in [dropping for dropping in self._drops if dropping.done()]:
            finished.result()  # an earlier drop that failed raises here, never silently
            self._drops.remove(finished)
        self._drops.append(self._dropper.submit(drop_postgres_database, url))

    def drop(self) -> None:
        """Drop every database this process made, once all are done; a failed drop fails here."""
        if self._next_copy is not None:
            self.discard(self._next_copy.result())
        self._copier.shutdown()
        self._dropper.shutdown()
        for dropping in self._drops:
            dropping.result()
        if self._postgres is not None:
            drop_postgres_database(self._postgres)


@pytest.fixture(scope="session")
def migrated_templates(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MigratedTemplates]:
    templates = MigratedTemplates(tmp_path_factory.mktemp("migrated"))
    yield templates
    templates.drop()


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(
    request: pytest.FixtureRequest,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    migrated_templates: MigratedTemplates,
) -> Iterator[str]:
    """A fresh migrated ticket database, once on SQLite and once on PostgreSQL.

    ``DATABASE_URL`` points at it for the test, so code that uses the default URL sees it.
    """
    if request.param == "sqlite":
        url = migrated_templates.sqlite(tmp_path / "tickets.db")
    else:
        if not postgres_available():
            pytest.skip(f"PostgreSQL does not answer at {TEST_POSTGRES_URL}")
        url = migrated_templates.postgresql()
    monkeypatch.setenv("DATABASE_URL", url)
    try:
        yield url
    finally:
        db.dispose_engines()
        if request.param == "postgresql":
            migrated_templates.discard(url)


@pytest.fixture
def sqlite_url(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, migrated_templates: MigratedTemplates
) -> Iterator[str]:
    """A fresh migrated SQLite ticket database (for tests that need one backend only)."""
    url = migrated_templates.sqlite(tmp_path / "tickets.db")
    monkeypatch.setenv("DATABASE_URL", url)
    yield url
    db.dispose_engines()
