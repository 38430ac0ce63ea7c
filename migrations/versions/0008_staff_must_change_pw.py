"""Staff accounts whose password an admin chose must replace it at the next login.

Existing accounts keep working as they are (false).

Revision ID: 0008_staff_must_change_pw
Revises: 0007_blocked_sender_ids
Create Date: 2026-12-07 04:00:00
"""
import sqlalchemy as sa
from alembic import op

revision = "0008_staff_must_change_pw"
down_revision = "0007_blocked_sender_ids"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("staff_users") as batch:
        batch.add_column(sa.Column("must_change_password", sa.Boolean(), nullable=False, server_default=sa.false()))


def downgrade() -> None:
    with op.batch_alter_table("staff_users") as batch:
        batch.drop_column("must_change_password")
