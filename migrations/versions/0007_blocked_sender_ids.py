"""Blocked senders are stored as WhatsApp's sender id (``6281234567890``), as the connector looks
them up: rows kept as staff typed them (``081234567890``, ``62812-3456-7890``) are rewritten, a
row that becomes a duplicate of another is dropped, and a value that is no phone number is left
as it is (logged).

The normalisation is written out here (libphonenumber, region ID) rather than imported, so this
migration keeps doing what it did when the application code moves on.

Revision ID: 0007_blocked_sender_ids
Revises: 0006_inbound_journal
Create Date: 2026-12-07 03:00:00
"""
import logging
from typing import Optional, Set

import phonenumbers
import sqlalchemy as sa
from alembic import op

revision = "0007_blocked_sender_ids"
down_revision = "0006_inbound_journal"
branch_labels = None
depends_on = None

logger = logging.getLogger("alembic.runtime.migration")


def _whatsapp_id(stored: str) -> Optional[str]:
    candidate = stored.strip()
    if candidate.isdigit() and candidate.startswith("62"):
        candidate = f"+{candidate}"
    try:
        number = phonenumbers.parse(candidate, "ID")
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(number):
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164).lstrip("+")


def upgrade() -> None:
    connection = op.get_bind()
    rows = connection.execute(
        sa.text("SELECT sender FROM blocked_senders ORDER BY created_at, sender")
    ).scalars().all()
    taken: Set[str] = set(rows)
    for stored in rows:
        sender = _whatsapp_id(stored)
        if sender is None:
            logger.warning("Blocked sender %s… is no phone number; left as it is", stored[:4])
            continue
        if sender == stored:
            continue
        if sender in taken:
            connection.execute(sa.text("DELETE FROM blocked_senders WHERE sender = :stored"), {"stored": stored})
        else:
            connection.execute(
                sa.text("UPDATE blocked_senders SET sender = :sender WHERE sender = :stored"),
                {"sender": sender, "stored": stored},
            )
            taken.add(sender)
        taken.discard(stored)


def downgrade() -> None:
    """Nothing to undo: a WhatsApp sender id is a valid value of the earlier format too."""
