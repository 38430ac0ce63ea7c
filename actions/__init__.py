"""LayanWarga custom actions (rasa-sdk action server), one module per flow.

The action server imports every module of this package. Business rules live in the domain
core (``layanwarga``); these modules translate between the dialogue and that core.

``tracker.events`` holds the events from the citizen's 10th-last message on, not the whole
session (``rasa_extensions.action_request.RECENT_MESSAGES``); slots, the latest message and the
active form are complete. What a citizen submitted earlier is in the ticket database.
"""

import logging
import os

os.environ.setdefault("SQLALCHEMY_SILENCE_UBER_WARNING", "1")

from layanwarga import migrate, runtime  # noqa: E402 - after the environment defaults above
from layanwarga.redaction import install_log_masking  # noqa: E402

runtime.require_safe("actions")
migrate.require_current("the action server")
install_log_masking()
logging.getLogger(__name__).addHandler(logging.NullHandler())
