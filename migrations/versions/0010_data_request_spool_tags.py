"""Erasure requests record keyed tags of the citizen's identities, so every local spool (each
instance's own disk) can remove the citizen's waiting entries; cleared after the retention period.

Revision ID: 0010_data_request_spool_tags
Revises: 0009_data_request_failures
Create Date: 2026-12-07 12:00:00
"""
import sqlalchemy as sa
from alembic import op

revision = "0010_data_request_spool_tags"
down_revision = "0009_data_request_failures"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("data_requests") as batch:
        batch.add_column(sa.Column("spool_tags", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("data_requests") as batch:
        batch.drop_column("spool_tags")
