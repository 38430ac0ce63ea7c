"""Data requests record why they are not finished: an erasure whose conversation store could not
be reached is "gagal" with a reason staff see, its attempts and when it was last tried.

Revision ID: 0009_data_request_failures
Revises: 0008_staff_must_change_pw
Create Date: 2026-12-07 10:00:00
"""
import sqlalchemy as sa
from alembic import op

revision = "0009_data_request_failures"
down_revision = "0008_staff_must_change_pw"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("data_requests") as batch:
        batch.add_column(sa.Column("failure_reason", sa.Text(), nullable=True))
        batch.add_column(sa.Column("attempts", sa.Integer(), nullable=False, server_default="0"))
        batch.add_column(sa.Column("last_attempt_at", sa.DateTime(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("data_requests") as batch:
        batch.drop_column("last_attempt_at")
        batch.drop_column("attempts")
        batch.drop_column("failure_reason")
