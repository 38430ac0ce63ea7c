"""A local stand-in for WhatsApp that speaks Meta's Cloud API protocol both ways.

- ``core.Simulator``: citizens, conversations, media, signed webhooks, status webhooks;
- ``server``: the Graph API endpoints the connector calls, the chat page, a control API;
- ``client.SimulatorClient``: a small synchronous client of the control API (tests);
- ``stack``: starts the action server and ``rasa run`` wired to a simulator (tests, benchmark).

``python -m simulator`` serves it on ``SIMULATOR_PORT`` (8090).
"""

from .config import SimulatorConfig
from .core import ChatMessage, Simulator, SimulatorError

__all__ = ["ChatMessage", "Simulator", "SimulatorConfig", "SimulatorError"]
