"""The model's graphs give the same answers run in a fixed order as through dask
(rasa_extensions.graph_runner): every NLU parse and every prediction along the project's
stories, the nodes run exactly once each in an order that respects their dependencies, and
Rasa's errors."""

from __future__ import annotations

from typing import Any, Dict, List, Tuple

import pytest
from rasa.core.agent import Agent
from rasa.core.channels.channel import UserMessage
from rasa.engine.exceptions import GraphRunError
from rasa.engine.graph import GraphNode
from rasa.engine.runner.dask import DaskGraphRunner
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import Event, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker

from rasa_extensions import graph_runner
from tests.extensions.model_support import long_conversation

PLACEHOLDER_MESSAGE = "__message__"
PLACEHOLDER_TRACKER = "__tracker__"
TEXTS = [
    "halo",
    "lampu jalan di depan rumah saya mati sudah 3 hari",
    "mau bikin sktm pak",
    "nik saya 6271024507850003",
    "cek status LW-2026-00012",
    "tolong ada kebakaran di jl. kenanga",
    "asdfgh qwerty",
    "makasih ya",
    "jam buka kantor kelurahan?",
    "batal aja",
]


def runner(agent: Agent) -> DaskGraphRunner:
    assert agent.processor is not None
    return agent.processor.graph_runner  # type: ignore[return-value]


def parse_with(run: Any, agent: Agent, text: str) -> Dict[str, Any]:
    """The NLU graph's output for ``text``, as the processor asks for it."""
    assert agent.processor is not None
    target = agent.processor.model_metadata.nlu_target
    results = run(
        runner(agent), inputs={PLACEHOLDER_MESSAGE: [UserMessage(text, message_id="m1")]}, targets=[target]
    )
    return results[target][0].as_dict(only_output_properties=True)


def predict_with(run: Any, agent: Agent, tracker: DialogueStateTracker) -> Tuple[Any, ...]:
    assert agent.processor is not None
    target = agent.processor.model_metadata.core_target
    prediction = run(runner(agent), inputs={PLACEHOLDER_TRACKER: tracker.copy()}, targets=[target])[target]
    return (
        prediction.policy_name,
        [round(p, 6) for p in prediction.probabilities],
        prediction.events,
        prediction.hide_rule_turn,
        prediction.is_end_to_end_prediction,
        prediction.is_no_user_prediction,
    )


def test_the_patch_is_installed() -> None:
    assert DaskGraphRunner.run is graph_runner.run


@pytest.mark.parametrize("text", TEXTS)
def test_nlu_parses_are_rasas(agent: Agent, text: str) -> None:
    assert parse_with(graph_runner.run, agent, text) == parse_with(graph_runner.original_run, agent, text)


def test_predictions_along_the_stories_are_rasas(
    agent: Agent, project: Tuple[Domain, List[List[Event]]]
) -> None:
    _, stories = project
    domain = agent.processor.domain  # type: ignore[union-attr]
    tracker = DialogueStateTracker("graph-runner", domain.slots)
    compared = 0
    for event in long_conversation(stories, 40):
        tracker.update(event)
        if isinstance(event, UserUttered) or compared % 3 == 0:
            assert predict_with(graph_runner.run, agent, tracker) == predict_with(
                graph_runner.original_run, agent, tracker
            )
        compared += 1
    assert compared > 200


def test_every_node_runs_once_after_what_it_needs(agent: Agent, monkeypatch: pytest.MonkeyPatch) -> None:
    graph = runner(agent)
    assert agent.processor is not None
    target = agent.processor.model_metadata.core_target
    calls: List[str] = []
    real_call = GraphNode.__call__

    def recording(node: GraphNode, *args: Any) -> Any:
        calls.append(node._node_name)
        return real_call(node, *args)

    monkeypatch.setattr(GraphNode, "__call__", recording)
    tracker = DialogueStateTracker("graph-runner-order", agent.processor.domain.slots)
    tracker.update(UserUttered("halo", intent={"name": "greet", "confidence": 1.0}))
    graph_runner.run(graph, inputs={PLACEHOLDER_TRACKER: tracker}, targets=[target])
    rasas = graph._graph_schema.minimal_graph_schema([target])
    assert sorted(calls) == sorted(rasas.nodes)
    for position, name in enumerate(calls):
        needed = [n for n in rasas.nodes[name].needs.values() if n in rasas.nodes]
        assert all(calls.index(n) < position for n in needed), name


def test_an_input_named_like_a_node_is_refused_as_rasa_does(agent: Agent) -> None:
    graph = runner(agent)
    assert agent.processor is not None
    target = agent.processor.model_metadata.nlu_target
    for run in (graph_runner.run, graph_runner.original_run):
        with pytest.raises(GraphRunError, match="clashes with a node name"):
            run(graph, inputs={PLACEHOLDER_MESSAGE: target}, targets=[target])
