"""Rasa plug-ins that are not channels: LayanWarga's tracker store and event broker.

Importing the package (Rasa does, to load the tracker store named in endpoints.yml) also
makes the tracker posted to the action server be encoded by orjson
(``rasa_extensions.action_request``), the action server's answers be checked with a schema
compiled once (``rasa_extensions.action_response``), the policies' dialogue states be
replayed only for new events (``rasa_extensions.dialogue_states``) and trackers be copied
without replaying the conversation (``rasa_extensions.tracker_copy``).
"""
from rasa_extensions import action_request, action_response, dialogue_states, tracker_copy

action_request.install()
action_response.install()
dialogue_states.install()
tracker_copy.install()
