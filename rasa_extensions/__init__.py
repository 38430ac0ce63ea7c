"""Rasa plug-ins that are not channels: LayanWarga's tracker store and event broker.

Importing the package (Rasa does, to load the tracker store named in endpoints.yml) also
makes custom action responses be checked with a schema compiled once
(``rasa_extensions.action_response``) and lets the policies' dialogue states be replayed only
for new events (``rasa_extensions.dialogue_states``).
"""
from rasa_extensions import action_response, dialogue_states

action_response.install()
dialogue_states.install()
