"""The analytics event broker: Rasa's own Pika (RabbitMQ) broker, with identity numbers masked.

Rasa streams every conversation event to the broker as it saves the tracker. The tracker store
masks NIK-like numbers before storing (``rasa_extensions.tracker_store``); the events sent to
analytics get the same treatment here, so a dashboard or data warehouse fed from RabbitMQ never
receives a NIK in clear text (UU 27/2022). Everything else is ``PikaEventBroker`` unchanged:
the endpoint keys, the fanout exchange, reconnection and the queue of unpublished events.

    event_broker:
      type: rasa_extensions.event_broker.MaskingPikaEventBroker
      url: ${RABBITMQ_HOST}
      ...                      # see endpoints.production-analytics.yml
"""

from __future__ import annotations

from typing import Any, Dict, Optional, Text

from rasa.core.brokers.pika import PikaEventBroker

from layanwarga.redaction import mask_value


class MaskingPikaEventBroker(PikaEventBroker):
    """``PikaEventBroker`` that masks 16-digit identity numbers in every published event."""

    def publish(self, event: Dict[Text, Any], headers: Optional[Dict[Text, Text]] = None) -> None:
        super().publish(mask_value(event), headers)
