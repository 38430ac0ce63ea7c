"""Everything that speaks Meta's WhatsApp Cloud (Graph) API, for every LayanWarga process.

The connector (``connectors/``, inside ``rasa run``), the notification worker
(``layanwarga.notifier``) and the announcement worker (``layanwarga.broadcast``) share:

- ``errors``: the one table of Meta's error codes and the exception class each one raises;
- ``settings``: ``GraphSettings``, resolved one way (credentials.yml, then ``WHATSAPP_*``
  variables, then defaults), with the one default API version;
- ``api``: the request builder (every call's method, URL and body) and the answer reader;
- ``aio``: the async client (aiohttp; retries, pacing, media download), for the connector;
- ``sync``: the sync client (requests; one attempt per call), for the workers;
- ``messages``: the one builder of message bodies, counting WhatsApp's limits in UTF-16 units;
- ``signature``: ``X-Hub-Signature-256`` of webhooks;
- ``statuses``: delivery statuses of sent messages (``message_statuses``), the one module here
  that writes the database.

No Rasa import here: the workers and the simulator's tests use it without Rasa.
"""
