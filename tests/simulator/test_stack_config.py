"""The stacks the end-to-end tests and the load benchmark start run the tracker store as the
project configures it: only where its database lives differs. (They once wrote a tracker_store
section of their own, so ``record_readings`` — a write per turn on the message path — was off in
every e2e test and load benchmark while on in every deployment.)"""

from __future__ import annotations

from pathlib import Path

from simulator.stack import TRACKER_CONNECTION_KEYS, project_tracker_section, tracker_store_config


def test_the_stack_keeps_every_option_of_the_projects_tracker_store(tmp_path: Path) -> None:
    options = {k: v for k, v in project_tracker_section().items() if k not in TRACKER_CONNECTION_KEYS}
    assert options.get("record_readings") is True  # the project records readings (endpoints.yml)
    on_sqlite = tracker_store_config(None, tmp_path)
    on_postgres = tracker_store_config("postgresql://lw:secret@127.0.0.1:5432/tracker", tmp_path)
    for config in (on_sqlite, on_postgres):
        assert {k: config[k] for k in options} == options
        assert config["type"] == project_tracker_section()["type"]
    assert on_sqlite["db"] == str(tmp_path / "tracker.db")
    assert (on_postgres["dialect"], on_postgres["db"], on_postgres["port"]) == ("postgresql", "tracker", 5432)


def test_rasas_own_store_gets_none_of_the_projects_options(tmp_path: Path) -> None:
    stock = tracker_store_config(None, tmp_path, tracker_type="SQL")
    assert stock == {"type": "SQL", "dialect": "sqlite", "db": str(tmp_path / "tracker.db")}
