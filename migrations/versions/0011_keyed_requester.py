"""Data requests no longer hold a reversible hash of the phone number nor a phone number in clear.

- ``requester`` was ``sha256("layanwarga:" + phone)[:32]``: anyone could find the phone by
  hashing every Indonesian mobile number. It becomes an HMAC of that value under a key derived
  from the current data key (``privacy.requester_code`` computes new ones the same way, so old
  and new rows of one citizen still match).
- ``sender_pending`` (the identities an erasure still has to erase) is stored encrypted.
- Requests of citizens whose erasure is complete keep ``dihapus`` as requester, on every request
  of theirs (their earlier "data saya" requests too).

Needs ``LAYANWARGA_DATA_KEYS`` (the keys every process uses), like the rest of the data.

Revision ID: 0011_keyed_requester
Revises: 0010_data_request_spool_tags
Create Date: 2026-12-07 14:00:00
"""
import sqlalchemy as sa
from alembic import op

from layanwarga import crypto

revision = "0011_keyed_requester"
down_revision = "0010_data_request_spool_tags"
branch_labels = None
depends_on = None

# Frozen copies of privacy.REQUESTER_PURPOSE and privacy.ERASED_REQUESTER as of this revision.
PURPOSE = "data-request-requester"
ERASED = "dihapus"
UNKEYED_LENGTH = 32


def upgrade() -> None:
    with op.batch_alter_table("data_requests") as batch:
        batch.alter_column("sender_pending", type_=sa.Text(), existing_type=sa.String(128), existing_nullable=True)
    conn = op.get_bind()
    rows = conn.execute(sa.text("SELECT id, kind, status, requester, sender_pending FROM data_requests")).all()
    erased = {r.requester for r in rows if r.kind == "hapus" and r.status == "selesai"}
    for row in rows:
        if row.requester in erased:
            requester = ERASED
        elif len(row.requester) == UNKEYED_LENGTH and row.requester != ERASED:
            requester = crypto.keyed_digest(PURPOSE, row.requester)[:UNKEYED_LENGTH]
        else:
            requester = row.requester
        pending = row.sender_pending
        if pending and not crypto.is_encrypted(pending):
            pending = crypto.encrypt(pending)
        conn.execute(
            sa.text("UPDATE data_requests SET requester = :r, sender_pending = :p WHERE id = :i"),
            {"r": requester, "p": pending, "i": row.id},
        )


def downgrade() -> None:
    conn = op.get_bind()
    for row in conn.execute(sa.text("SELECT id, sender_pending FROM data_requests WHERE sender_pending IS NOT NULL")).all():
        conn.execute(sa.text("UPDATE data_requests SET sender_pending = :p WHERE id = :i"),
                     {"p": crypto.decrypt(row.sender_pending), "i": row.id})
    with op.batch_alter_table("data_requests") as batch:
        batch.alter_column("sender_pending", type_=sa.String(128), existing_type=sa.Text(), existing_nullable=True)
    # The keyed requester codes stay: a plain hash of the phone number is not written back.
