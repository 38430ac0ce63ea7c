"""Handoffs remember an emergency reported while waiting and the one acknowledgement sent.

Revision ID: 0013_handoff_waiting
Revises: 0012_spool_reports
Create Date: 2026-12-07 03:20:00
"""
import sqlalchemy as sa
from alembic import op

revision = "0013_handoff_waiting"
down_revision = "0012_spool_reports"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("handoffs", schema=None) as batch_op:
        batch_op.add_column(sa.Column("emergency_at", sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column("reminded_at", sa.DateTime(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("handoffs", schema=None) as batch_op:
        batch_op.drop_column("reminded_at")
        batch_op.drop_column("emergency_at")
