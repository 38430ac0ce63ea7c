"""Run the model's graph in a fixed order instead of through dask's scheduler.

Rasa 3.6 runs every NLU parse and every policy prediction with ``DaskGraphRunner.run``: it
works out the minimal graph for the targets, builds a dask graph of it and hands it to
``dask.get``, which orders the tasks, tracks their states and releases results, all again for
every call (two to four times a turn). The graph is a fixed pipeline of about fifteen
nodes run one after the other on the calling thread: in the load benchmark's profile the
scheduling around the nodes was a fifth of the time spent in them.

``run`` here computes, once per set of targets, the order of the nodes the targets need (a
topological order of Rasa's own minimal graph) and then calls the same ``GraphNode`` objects
with the same inputs, in that order: each node gets its dependencies' results as
``(node name, output)`` pairs in the order of its ``needs``, as dask handed them, and the
result is ``{target: output}`` as before. Errors are Rasa's: a ``RuntimeError`` from a node
becomes ``GraphRunError``, an input named like a node is refused with Rasa's message.
"""

from __future__ import annotations

import logging
from typing import Any, Dict, List, Optional, Sequence, Set, Text, Tuple

from rasa.engine.exceptions import GraphRunError
from rasa.engine.graph import GraphSchema
from rasa.engine.runner.dask import DaskGraphRunner

logger = logging.getLogger(__name__)

# (node name, names of what it needs in the order of its ``needs``) in an order where every
# node comes after what it needs.
Plan = List[Tuple[Text, Tuple[Text, ...]]]

original_run = DaskGraphRunner.run


def plan(schema: GraphSchema, targets: Sequence[Text]) -> Plan:
    """The nodes the targets need (Rasa's minimal graph), each after its dependencies."""
    minimal = schema.minimal_graph_schema(list(targets))
    order: Plan = []
    done: Set[Text] = set()

    def visit(name: Text, path: Tuple[Text, ...]) -> None:
        if name in done or name not in minimal.nodes:
            return
        if name in path:
            raise GraphRunError(f"The graph has a cycle through node '{name}'.")
        needs = tuple(minimal.nodes[name].needs.values())
        for dependency in needs:
            visit(dependency, path + (name,))
        done.add(name)
        order.append((name, needs))

    for target in targets:
        visit(target, ())
    return order


def run(
    self: DaskGraphRunner, inputs: Optional[Dict[Text, Any]] = None, targets: Optional[List[Text]] = None
) -> Dict[Text, Any]:
    """``DaskGraphRunner.run`` without dask (see the module docstring)."""
    run_targets = targets if targets else self._graph_schema.target_names
    plans: Dict[Tuple[Text, ...], Plan] = self.__dict__.setdefault("_layanwarga_plans", {})
    order = plans.get(tuple(run_targets))
    if order is None:
        order = plans[tuple(run_targets)] = plan(self._graph_schema, run_targets)
    results: Dict[Text, Any] = {}
    for input_name, input_value in (inputs or {}).items():
        if isinstance(input_value, str) and (
            input_value in results or any(input_value == n for n, _ in order)
        ):
            raise GraphRunError(
                f"Input value '{input_value}' clashes with a node name. Make sure "
                f"that none of the input names passed to the `run` method are the "
                f"same as node names in the graph schema."
            )
        results[input_name] = (input_name, input_value)
    logger.debug(f"Running graph with inputs: {inputs}, targets: {targets} and {self._execution_context}.")
    try:
        for name, needs in order:
            if name in results:
                continue  # an input named like a node replaces it, as in Rasa's dask graph
            # A need that is neither a node nor an input reaches the node as the bare name, as
            # dask passes on a string that is not one of its keys.
            results[name] = self._instantiated_nodes[name](*(results.get(need, need) for need in needs))
    except RuntimeError as error:
        raise GraphRunError("Error running runner.") from error
    return dict(results[target] for target in run_targets)


def install() -> None:
    """Make every ``DaskGraphRunner`` in this process run its graph in a fixed order (idempotent)."""
    DaskGraphRunner.run = run  # type: ignore[method-assign]


__all__ = ["install", "original_run", "plan", "run"]
