"""The connector reads the assistant's current model each time it needs it, for citizens waiting
for an officer (``WebhookProcessor.use_agent``). Found while shipping model pulling (issue 27):
the connector kept the responses and parser of the model loaded at start, so after Rasa pulled a
new model the emergency answer stayed the old one, and an instance started before the model
server answered never read a waiting citizen's message at all. Rasa's ``Agent.load_model``
replaces the agent's processor and domain, as assigned here."""

from __future__ import annotations

from pathlib import Path

from rasa.core.agent import Agent
from rasa.core.tracker_store import InMemoryTrackerStore
from rasa.shared.core.domain import Domain

from connectors.whatsapp import WhatsAppInput
from layanwarga.config import get_institution
from wa_support import FakeGraph, RunningChannel, make_settings


async def test_a_model_loaded_after_start_is_the_one_used(tmp_path: Path) -> None:
    channel = WhatsAppInput(make_settings("http://127.0.0.1:9", tmp_path))

    async def on_message(message: object) -> None:
        return None

    channel.blueprint(on_message)
    processor = channel.processor
    assert processor is not None
    agent = Agent()  # `rasa run` whose model server had nothing yet: no model loaded
    processor.use_agent(agent)
    inst = get_institution()
    assert await processor._intent_of("tolong ada kebakaran") is None  # no model: only logged
    assert processor._emergency_text(inst).startswith("🚨 Bila ada keadaan darurat")

    agent.domain = Domain.from_dict(
        {"responses": {"utter_darurat": [{"text": "Darurat (model baru):\n{numbers}"}]}}
    )
    assert processor._emergency_text(inst).startswith("Darurat (model baru):\n")
    assert inst.emergency_list() in processor._emergency_text(inst)


async def test_the_health_page_says_unavailable_until_a_model_is_loaded(tmp_path: Path) -> None:
    """Rasa drops every message while it has no model ("Ignoring message as there is no agent"),
    so the probe Docker, compose and Kubernetes use must keep such an instance out of service."""
    async with FakeGraph() as graph:
        agent = Agent()
        async with RunningChannel(make_settings(graph.url, tmp_path), agent=agent) as rc:
            async with rc.http.get(f"http://127.0.0.1:{rc.port}/webhooks/whatsapp/") as answer:
                assert answer.status == 503
            agent.tracker_store = InMemoryTrackerStore(Domain.empty())
            agent.processor = object()  # type: ignore[assignment]  # what load_model sets
            async with rc.http.get(f"http://127.0.0.1:{rc.port}/webhooks/whatsapp/") as answer:
                assert answer.status == 200
