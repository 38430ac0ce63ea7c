"""What waits in each process's local spool, reported for the dashboard (spools sit on each
instance's own disk).

Revision ID: 0012_spool_reports
Revises: 0011_keyed_requester
Create Date: 2026-12-07 16:00:00
"""
import sqlalchemy as sa
from alembic import op

revision = "0012_spool_reports"
down_revision = "0011_keyed_requester"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "spool_reports",
        sa.Column("owner", sa.String(length=255), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("waiting", sa.Integer(), nullable=False),
        sa.Column("set_aside", sa.Integer(), nullable=False),
        sa.Column("other_database", sa.Integer(), nullable=False),
        sa.Column("unreadable", sa.Integer(), nullable=False),
        sa.Column("oldest_at", sa.DateTime(), nullable=True),
        sa.Column("reported_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("owner", name=op.f("pk_spool_reports")),
    )


def downgrade() -> None:
    op.drop_table("spool_reports")
