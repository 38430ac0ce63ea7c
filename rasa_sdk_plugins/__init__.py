"""The action server's plugins, found by rasa-sdk under this fixed package name when
``rasa run actions`` starts (Rasa's documented extension point for the action server's Sanic
app, "Sanic Extensions", rasa-sdk 3.6)."""

from __future__ import annotations

import sys

import pluggy


def init_hooks(manager: pluggy.PluginManager) -> None:
    import actions.background  # noqa: F401 - registered below by module

    manager.register(sys.modules["actions.background"])
