"""Messaging channels of LayanWarga (Rasa input/output channels).

``connectors.whatsapp.WhatsAppInput`` is the WhatsApp Cloud API channel, registered in
credentials.yml by module path. What speaks Meta's Graph API (client, error table, message
bodies, signatures, delivery statuses) is the ``whatsapp`` package, shared with the workers;
the modules here are the channel's own, split by concern:

- ``settings``: credentials.yml values with environment-variable fallbacks.
- ``whatsapp_parse``: webhook body -> typed updates (messages, statuses, errors).
- ``whatsapp_rasa``: typed inbound messages -> the text and metadata Rasa receives.
- ``whatsapp_processor``: background processing (journal, identity, read receipts, media, Rasa).
- ``journal``: each inbound message taken in once and kept until its turn completed.
- ``replay``: the assistant's health, and what waits for it.
- ``limits``: per-citizen flood limits.
- ``ordering``, ``sender_queues``: in-order processing per sender, concurrent across senders.
- ``status_batcher``: delivery statuses that arrive together, written in one unit of work.
- ``executor``: the thread pool for blocking storage calls.
- ``whatsapp_output``: the Rasa OutputChannel.
- ``whatsapp``: the InputChannel and its Sanic blueprint.
"""
