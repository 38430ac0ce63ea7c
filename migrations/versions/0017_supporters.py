"""Supporters of a complaint (``supporters``, counted in ``tickets.supporter_count``) and the
nearby search's indexes on tickets.

Revision ID: 0017_supporters
Revises: 0016_open311
Create Date: 2026-12-07 14:50:00
"""
import sqlalchemy as sa
from alembic import op

revision = "0017_supporters"
down_revision = "0016_open311"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "supporters",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("ticket_id", sa.Integer(), nullable=False),
        sa.Column("citizen_id", sa.Integer(), nullable=False),
        sa.Column("source", sa.String(length=10), nullable=False),
        sa.Column("merged_from_id", sa.Integer(), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("is_anonymous", sa.Boolean(), nullable=False),
        sa.Column("is_confidential", sa.Boolean(), nullable=False),
        sa.Column("idempotency_key", sa.String(length=128), nullable=True),
        sa.Column("confirmation", sa.String(length=10), nullable=True),
        sa.Column("confirmed_at", sa.DateTime(), nullable=True),
        sa.Column("rating", sa.Integer(), nullable=True),
        sa.Column("rated_at", sa.DateTime(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.CheckConstraint("rating IS NULL OR (rating BETWEEN 1 AND 5)", name=op.f("ck_supporters_rating")),
        sa.ForeignKeyConstraint(["ticket_id"], ["tickets.id"], name=op.f("fk_supporters_ticket_id_tickets"), ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["citizen_id"], ["citizens.id"], name=op.f("fk_supporters_citizen_id_citizens")),
        sa.ForeignKeyConstraint(
            ["merged_from_id"], ["tickets.id"], name=op.f("fk_supporters_merged_from_id_tickets"), ondelete="SET NULL"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_supporters")),
        sa.UniqueConstraint("ticket_id", "citizen_id", name="uq_supporters_ticket_citizen"),
        sa.UniqueConstraint("idempotency_key", name=op.f("uq_supporters_idempotency_key")),
    )
    op.create_index("ix_supporters_citizen", "supporters", ["citizen_id"])
    with op.batch_alter_table("tickets") as batch:
        batch.add_column(sa.Column("supporter_count", sa.Integer(), nullable=False, server_default="0"))
    op.create_index("ix_tickets_supporters_id", "tickets", ["supporter_count", "id"])
    op.create_index("ix_tickets_category_latitude", "tickets", ["category", "latitude", "longitude"])
    op.create_index("ix_tickets_category_rw_rt", "tickets", ["category", "rw", "rt"])


def downgrade() -> None:
    op.drop_index("ix_tickets_supporters_id", table_name="tickets")
    with op.batch_alter_table("tickets") as batch:
        batch.drop_column("supporter_count")
    op.drop_index("ix_tickets_category_rw_rt", table_name="tickets")
    op.drop_index("ix_tickets_category_latitude", table_name="tickets")
    op.drop_index("ix_supporters_citizen", table_name="supporters")
    op.drop_table("supporters")
