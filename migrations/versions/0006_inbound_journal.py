"""The connector's journal: processed_messages keeps each inbound message until its turn is done.

Revision ID: 0006_inbound_journal
Revises: 0005_subscriptions
Create Date: 2026-12-07 02:00:00
"""
import sqlalchemy as sa
from alembic import op

revision = "0006_inbound_journal"
down_revision = "0005_subscriptions"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("processed_messages", schema=None) as batch_op:
        # Rows from before the journal were processed when they were claimed: they are done.
        batch_op.add_column(sa.Column("state", sa.String(length=12), nullable=False, server_default="done"))
        batch_op.add_column(sa.Column("payload", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("owner", sa.String(length=120), nullable=True))
        batch_op.add_column(sa.Column("lease_until", sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column("seq", sa.Float(), nullable=True))
        batch_op.add_column(sa.Column("attempts", sa.Integer(), nullable=False, server_default="0"))
        batch_op.create_index("ix_processed_messages_state_lease", ["state", "lease_until"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("processed_messages", schema=None) as batch_op:
        batch_op.drop_index("ix_processed_messages_state_lease")
        for column in ("attempts", "seq", "lease_until", "owner", "payload", "state"):
            batch_op.drop_column(column)
