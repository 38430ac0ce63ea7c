"""LayanWarga custom actions (rasa-sdk action server), one module per flow.

The action server imports every module of this package. Business rules live in the domain
core (``layanwarga``); these modules translate between the dialogue and that core.
"""
import logging
import os

os.environ.setdefault("SQLALCHEMY_SILENCE_UBER_WARNING", "1")

from layanwarga import runtime  # noqa: E402 - after the environment defaults above
from layanwarga.redaction import install_log_masking  # noqa: E402

runtime.require_safe("actions")
install_log_masking()
logging.getLogger(__name__).addHandler(logging.NullHandler())
