"""Citizens' data access and erasure requests, for staff to see.

Revision ID: 0004_data_requests
Revises: 0003_blocked_senders
Create Date: 2026-11-23 13:45:00
"""
import sqlalchemy as sa
from alembic import op

revision = "0004_data_requests"
down_revision = "0003_blocked_senders"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "data_requests",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=10), nullable=False),
        sa.Column("requester", sa.String(length=64), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("summary", sa.Text(), nullable=True),
        sa.Column("sender_pending", sa.String(length=128), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("completed_at", sa.DateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_data_requests")),
    )
    op.create_index("ix_data_requests_status_created", "data_requests", ["status", "created_at"])


def downgrade() -> None:
    op.drop_index("ix_data_requests_status_created", table_name="data_requests")
    op.drop_table("data_requests")
