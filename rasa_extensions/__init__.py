"""LayanWarga's additions to Rasa that are not channels.

Plug-ins Rasa loads by name from endpoints.yml: the tracker store
(``rasa_extensions.tracker_store.LayanWargaTrackerStore``) and the analytics event broker
(``rasa_extensions.event_broker.MaskingPikaEventBroker``).

Performance patches to Rasa (``rasa_extensions.patches``): switched on explicitly, by
``python -m rasa_extensions <rasa arguments>``, Rasa's command line with the patches, which
the project uses wherever it starts ``rasa run`` or ``rasa test``. Importing this package or
any plug-in patches nothing.
"""
