"""Messaging channels of LayanWarga (Rasa input/output channels).

``connectors.whatsapp.WhatsAppInput`` is the WhatsApp Cloud API channel, registered in
credentials.yml by module path. The modules are split by concern:

- ``settings``: credentials.yml values with environment-variable fallbacks.
- ``signature``: X-Hub-Signature-256 verification over the raw request bytes.
- ``whatsapp_parse``: webhook body -> typed updates (messages, statuses, errors).
- ``whatsapp_rasa``: typed inbound messages -> the text and metadata Rasa receives.
- ``whatsapp_processor``: background processing (dedupe, identity, read receipts, media, Rasa).
- ``sender_queues``: in-order processing per sender, concurrent across senders.
- ``status_batcher``: delivery statuses that arrive together, written in one unit of work.
- ``dedupe``: the "process each message once" store (SQL now; an interface for Redis later).
- ``whatsapp_output``: the Rasa OutputChannel.
- ``graph_client``: async Graph API client with retries, pacing and error classes.
- ``whatsapp``: the InputChannel and its Sanic blueprint.
"""
