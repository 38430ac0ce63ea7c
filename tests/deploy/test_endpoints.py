"""The production endpoint files, read by Rasa itself, configured only from the environment.

- every ``${VAR}`` is substituted (Rasa substitutes only plain YAML scalars: a quoted
  ``"${VAR}"`` would silently stay literal text);
- Rasa builds the stores from them: ``LayanWargaTrackerStore`` from a whole SQLAlchemy URL, the
  ``RedisLockStore`` on the local Redis with LayanWarga's key prefix;
- the model comes from the dashboard's model server (``models:``, URL and token from the
  environment), pulled every minute;
- the analytics file is the production file plus the event broker, and an event published
  through it reaches RabbitMQ (the local server) and reads back, with the NIK masked.
"""

from __future__ import annotations

import asyncio
import json
import socket
import uuid
from pathlib import Path
from typing import Any, Dict

import pytest
import yaml
from rasa.core.brokers.broker import EventBroker
from rasa.core.lock_store import LockStore, RedisLockStore
from rasa.core.tracker_store import TrackerStore
from rasa.core.utils import AvailableEndpoints, read_endpoints_from_path

ROOT = Path(__file__).resolve().parents[2]
PRODUCTION = ROOT / "endpoints.production.yml"
ANALYTICS = ROOT / "endpoints.production-analytics.yml"
NIK = "6271024507850003"


def reachable(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=2):
            return True
    except OSError:
        return False


@pytest.fixture
def production_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Dict[str, str]:
    env = {
        "ACTION_SERVER_URL": "http://actions.internal:5055/webhook",
        "TRACKER_STORE_URL": f"sqlite:///{tmp_path / 'tracker.db'}",
        "REDIS_HOST": "127.0.0.1",
        "REDIS_PORT": "6379",
        "REDIS_DB": "3",
        "REDIS_PASSWORD": "",
        "RABBITMQ_HOST": "127.0.0.1",
        "RABBITMQ_PORT": "5672",
        "RABBITMQ_USERNAME": "guest",
        "RABBITMQ_PASSWORD": "guest",
        "LAYANWARGA_MODEL_URL": "http://dashboard:8080/model/layanwarga.tar.gz",
        "LAYANWARGA_MODEL_TOKEN": "model-token-from-the-environment",
    }
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    return env


def _strings(value: Any) -> list:
    if isinstance(value, dict):
        return [s for v in value.values() for s in _strings(v)]
    if isinstance(value, (list, tuple)):
        return [s for v in value for s in _strings(v)]
    return [str(value)]


@pytest.mark.parametrize("path", [PRODUCTION, ANALYTICS], ids=lambda p: p.name)
def test_every_variable_is_substituted(path: Path, production_env: Dict[str, str]) -> None:
    endpoints = read_endpoints_from_path(path)
    configs = [
        endpoints.action,
        endpoints.tracker_store,
        endpoints.lock_store,
        endpoints.event_broker,
        endpoints.model,
    ]
    values = [
        s
        for c in configs
        if c is not None
        for s in _strings({"url": c.url, "token": c.token, "params": c.params, **c.kwargs})
    ]
    assert not [v for v in values if "${" in v], f"{path.name}: unsubstituted variables"
    assert endpoints.action.url == production_env["ACTION_SERVER_URL"]
    assert endpoints.tracker_store.url == production_env["TRACKER_STORE_URL"]
    assert endpoints.lock_store.kwargs["db"] == "3"


@pytest.mark.parametrize("path", [PRODUCTION, ANALYTICS], ids=lambda p: p.name)
def test_the_model_comes_from_the_dashboards_model_server(path: Path, production_env: Dict[str, str]) -> None:
    """What Rasa's model pulling sends: the URL, the token as the ``token`` query parameter (what
    dashboard/views/models.py checks), a pull a minute."""
    from dashboard.views.models import MODEL_PATH

    model = read_endpoints_from_path(path).model
    assert model is not None and model.url == production_env["LAYANWARGA_MODEL_URL"]
    assert model.url.endswith(MODEL_PATH)
    assert model.combine_parameters() == {"token": production_env["LAYANWARGA_MODEL_TOKEN"]}
    assert model.kwargs["wait_time_between_pulls"] == 60


def test_the_development_endpoints_need_no_dashboard() -> None:
    """``rasa run``/``rasa shell`` on the embedded defaults load the model they are given: with
    a ``models:`` block Rasa would ignore ``--model`` and need the dashboard up (deploy/README.md)."""
    assert read_endpoints_from_path(ROOT / "endpoints.yml").model is None


def test_the_analytics_file_is_production_plus_the_broker() -> None:
    production = yaml.safe_load(PRODUCTION.read_text(encoding="utf-8"))
    analytics = yaml.safe_load(ANALYTICS.read_text(encoding="utf-8"))
    assert {k: v for k, v in analytics.items() if k != "event_broker"} == production
    assert analytics["event_broker"]["type"] == "rasa_extensions.event_broker.MaskingPikaEventBroker"


def test_rasa_builds_the_stores(production_env: Dict[str, str]) -> None:
    from rasa_extensions.tracker_store import LayanWargaTrackerStore

    if not reachable(6379):
        pytest.skip("Redis does not answer on 127.0.0.1:6379")
    endpoints: AvailableEndpoints = read_endpoints_from_path(PRODUCTION)
    tracker_store = TrackerStore.create(endpoints.tracker_store)
    assert isinstance(getattr(tracker_store, "_tracker_store", tracker_store), LayanWargaTrackerStore)
    lock_store = LockStore.create(endpoints.lock_store)
    assert isinstance(lock_store, RedisLockStore)
    assert lock_store.key_prefix == "layanwarga:lock:"
    assert lock_store.red.ping()


def test_an_event_goes_to_rabbitmq_masked(production_env: Dict[str, str]) -> None:
    if not reachable(5672):
        pytest.skip("RabbitMQ does not answer on 127.0.0.1:5672")
    endpoints = read_endpoints_from_path(ANALYTICS)
    config = endpoints.event_broker
    # This test's own exchange and queue, so parallel runs never read each other's events.
    suffix = uuid.uuid4().hex[:10]
    config.kwargs.update(queues=[f"lw_test_events_{suffix}"], exchange_name=f"lw-test-{suffix}")
    sender = f"62812{suffix}"

    async def roundtrip() -> Dict[str, Any]:
        import aio_pika

        broker = await EventBroker.create(config)
        assert broker is not None and type(broker).__name__ == "MaskingPikaEventBroker"
        assert broker.is_ready()
        broker.publish({"sender_id": sender, "event": "user", "text": f"NIK saya {NIK}", "timestamp": 1.0})
        connection = await aio_pika.connect_robust(
            host="127.0.0.1", port=5672, login="guest", password="guest"
        )
        try:
            channel = await connection.channel()
            queue = await channel.get_queue(f"lw_test_events_{suffix}")
            message = None
            for _ in range(50):
                message = await queue.get(fail=False)
                if message is not None:
                    break
                await asyncio.sleep(0.1)
            assert message is not None, "the event never reached RabbitMQ"
            await message.ack()
            await queue.delete(if_unused=False, if_empty=False)
            await channel.exchange_delete(f"lw-test-{suffix}")
            return json.loads(message.body)
        finally:
            await connection.close()
            await broker.close()

    event = asyncio.run(roundtrip())
    assert event["sender_id"] == sender and event["event"] == "user"
    assert NIK not in event["text"] and "6271********0003" in event["text"]
