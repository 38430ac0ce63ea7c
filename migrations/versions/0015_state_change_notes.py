"""A ticket's history keeps what staff wrote for themselves apart from what the citizen was told
(``state_changes.internal_note`` next to ``note``), and the agency before and after a forward
(``from_agency``, ``to_agency``).

Notes written before this revision were all sent to the citizen: they stay in ``note``.

Revision ID: 0015_state_change_notes
Revises: 0014_conversation_flows
Create Date: 2026-12-08 12:00:00
"""
import sqlalchemy as sa
from alembic import op

revision = "0015_state_change_notes"
down_revision = "0014_conversation_flows"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("state_changes", schema=None) as batch_op:
        batch_op.add_column(sa.Column("internal_note", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("from_agency", sa.String(length=40), nullable=True))
        batch_op.add_column(sa.Column("to_agency", sa.String(length=40), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("state_changes", schema=None) as batch_op:
        batch_op.drop_column("to_agency")
        batch_op.drop_column("from_agency")
        batch_op.drop_column("internal_note")
