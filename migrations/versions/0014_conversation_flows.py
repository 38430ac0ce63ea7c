"""What each conversation line is about: the forms (complaint or letter request) citizens start,
and the ticket of each line, so a ticket's page shows its own conversation instead of every
message within a time window.

Existing outbox lines take their outbox row's ticket. Lines written before this revision belong
to no form: a ticket created before it shows no conversation (the old time window showed other
chats of the citizen).

Revision ID: 0014_conversation_flows
Revises: 0013_handoff_waiting
Create Date: 2026-12-08 09:00:00
"""
import sqlalchemy as sa
from alembic import op

revision = "0014_conversation_flows"
down_revision = "0013_handoff_waiting"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "conversation_flows",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("citizen_id", sa.Integer(), nullable=False),
        sa.Column("flow_key", sa.String(length=64), nullable=False),
        sa.Column("first_line_id", sa.Integer(), nullable=False),
        sa.Column("started_at", sa.DateTime(), nullable=False),
        sa.Column("ticket_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["citizen_id"], ["citizens.id"], name=op.f("fk_conversation_flows_citizen_id_citizens"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["ticket_id"], ["tickets.id"], name=op.f("fk_conversation_flows_ticket_id_tickets"), ondelete="SET NULL"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_conversation_flows")),
    )
    with op.batch_alter_table("conversation_flows", schema=None) as batch_op:
        batch_op.create_index("ix_conversation_flows_citizen_key", ["citizen_id", "flow_key"], unique=False)
    with op.batch_alter_table("conversation_messages", schema=None) as batch_op:
        batch_op.add_column(sa.Column("ticket_id", sa.Integer(), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f("fk_conversation_messages_ticket_id_tickets"), "tickets", ["ticket_id"], ["id"], ondelete="SET NULL"
        )
        # Partial: most lines carry neither, and the connector writes a line for every message.
        batch_op.create_index(
            "ix_conversation_messages_ticket_id",
            ["ticket_id", "id"],
            unique=False,
            sqlite_where=sa.text("ticket_id IS NOT NULL"),
            postgresql_where=sa.text("ticket_id IS NOT NULL"),
        )
        batch_op.create_index(
            "ix_conversation_messages_media_id",
            ["media_id"],
            unique=False,
            sqlite_where=sa.text("media_id IS NOT NULL"),
            postgresql_where=sa.text("media_id IS NOT NULL"),
        )
    op.execute(
        "UPDATE conversation_messages SET ticket_id = "
        "(SELECT notifications.ticket_id FROM notifications WHERE notifications.id = conversation_messages.notification_id) "
        "WHERE notification_id IS NOT NULL"
    )


def downgrade() -> None:
    with op.batch_alter_table("conversation_messages", schema=None) as batch_op:
        batch_op.drop_index("ix_conversation_messages_media_id")
        batch_op.drop_index("ix_conversation_messages_ticket_id")
        batch_op.drop_constraint(batch_op.f("fk_conversation_messages_ticket_id_tickets"), type_="foreignkey")
        batch_op.drop_column("ticket_id")
    with op.batch_alter_table("conversation_flows", schema=None) as batch_op:
        batch_op.drop_index("ix_conversation_flows_citizen_key")
    op.drop_table("conversation_flows")
