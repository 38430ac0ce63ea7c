"""The review queue of issue 27: the assistant's reading of each message (``nlu_readings``),
lines staff flagged as misunderstood (``review_flags``) and content staff's decisions
(``review_annotations``); and the content staff's role ``konten`` among the roles a staff
account may have. Downgrading refuses while a ``konten`` account exists (the old constraint would
not hold): delete or change those accounts first.

Revision ID: 0021_review_queue
Revises: 0015_state_change_notes
Create Date: 2026-12-07 15:00:00
"""
import sqlalchemy as sa
from alembic import op

revision = "0021_review_queue"
down_revision = "0020_catalogue"
branch_labels = None
depends_on = None


OLD_ROLES = "role IN ('admin', 'opd', 'surat')"
NEW_ROLES = "role IN ('admin', 'opd', 'surat', 'konten')"


def _roles(condition: str) -> None:
    with op.batch_alter_table("staff_users", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_staff_users_role"), type_="check")
        batch_op.create_check_constraint(op.f("ck_staff_users_role"), condition)


def upgrade() -> None:
    _roles(NEW_ROLES)
    op.create_table(
        "nlu_readings",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("sender", sa.String(length=128), nullable=False),
        sa.Column("message_id", sa.String(length=255), nullable=True),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("group_key", sa.String(length=255), nullable=False),
        sa.Column("intent", sa.String(length=80), nullable=True),
        sa.Column("confidence", sa.Float(), nullable=True),
        sa.Column("guesses", sa.Text(), nullable=False),
        sa.Column("fell_back", sa.Boolean(), nullable=False),
        sa.Column("in_form", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_nlu_readings_created_at", "nlu_readings", ["created_at"])
    op.create_index("ix_nlu_readings_sender_id", "nlu_readings", ["sender", "id"])
    op.create_index("ix_nlu_readings_group_key", "nlu_readings", ["group_key"])
    op.create_table(
        "review_flags",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("line_id", sa.Integer(), nullable=False),
        sa.Column("sender", sa.String(length=128), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("group_key", sa.String(length=255), nullable=False),
        sa.Column("flagged_by", sa.String(length=120), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["line_id"], ["conversation_messages.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("line_id"),
    )
    op.create_table(
        "review_annotations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("group_key", sa.String(length=255), nullable=False),
        sa.Column("decision", sa.String(length=20), nullable=False),
        sa.Column("intent", sa.String(length=80), nullable=True),
        sa.Column("example", sa.Text(), nullable=True),
        sa.Column("annotated_by", sa.String(length=120), nullable=False),
        sa.Column("annotated_at", sa.DateTime(), nullable=False),
        sa.Column("written_to", sa.String(length=255), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_review_annotations_group_key", "review_annotations", ["group_key"])


def downgrade() -> None:
    _roles(OLD_ROLES)
    op.drop_index("ix_review_annotations_group_key", table_name="review_annotations")
    op.drop_table("review_annotations")
    op.drop_table("review_flags")
    op.drop_index("ix_nlu_readings_group_key", table_name="nlu_readings")
    op.drop_index("ix_nlu_readings_sender_id", table_name="nlu_readings")
    op.drop_index("ix_nlu_readings_created_at", table_name="nlu_readings")
    op.drop_table("nlu_readings")
