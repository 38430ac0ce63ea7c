"""Senders blocked by staff for abuse.

Revision ID: 0003_blocked_senders
Revises: dashboard_0002
Create Date: 2026-11-23 13:35:00
"""
import sqlalchemy as sa
from alembic import op

revision = "0003_blocked_senders"
down_revision = "dashboard_0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "blocked_senders",
        sa.Column("sender", sa.String(length=128), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("blocked_by", sa.String(length=120), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("sender", name=op.f("pk_blocked_senders")),
    )


def downgrade() -> None:
    op.drop_table("blocked_senders")
