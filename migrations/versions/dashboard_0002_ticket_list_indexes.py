"""Indexes for the dashboard's ticket lists at 100,000+ tickets: newest first, recently updated,
an OPD's own tickets newest first (keyset pagination on (column, id)), and tickets closed in a
period and each ticket's first staff response (statistics).

Revision ID: dashboard_0002
Revises: dashboard_0001
Create Date: 2026-11-23 14:20:00
"""
from alembic import op

revision = "dashboard_0002"
down_revision = "dashboard_0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("tickets", schema=None) as batch_op:
        batch_op.create_index("ix_tickets_created_id", ["created_at", "id"], unique=False)
        batch_op.create_index("ix_tickets_updated_id", ["updated_at", "id"], unique=False)
        batch_op.create_index("ix_tickets_agency_created", ["agency_code", "created_at"], unique=False)
        batch_op.create_index("ix_tickets_closed_at", ["closed_at"], unique=False)
    with op.batch_alter_table("state_changes", schema=None) as batch_op:
        # Covers "first staff response per ticket" (statistics) without reading the table.
        batch_op.create_index("ix_state_changes_ticket_actor_created", ["ticket_id", "actor", "created_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("state_changes", schema=None) as batch_op:
        batch_op.drop_index("ix_state_changes_ticket_actor_created")
    with op.batch_alter_table("tickets", schema=None) as batch_op:
        batch_op.drop_index("ix_tickets_closed_at")
        batch_op.drop_index("ix_tickets_agency_created")
        batch_op.drop_index("ix_tickets_updated_id")
        batch_op.drop_index("ix_tickets_created_id")
