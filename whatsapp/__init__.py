"""Everything that speaks Meta's WhatsApp Cloud (Graph) API, for every LayanWarga process.

- ``messages``: the one builder of message bodies, counting WhatsApp's limits in UTF-16 units;
- ``statuses``: delivery statuses of sent messages (``message_statuses``), the one module here
  that writes the database.

No Rasa import here: the workers and the simulator's tests use it without Rasa.
"""
