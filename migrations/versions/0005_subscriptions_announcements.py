"""Subscriptions to official information, announcements and their deliveries (issue 11).

Revision ID: 0005_subscriptions
Revises: 0004_data_requests
Create Date: 2026-11-24 09:00:00
"""
import sqlalchemy as sa
from alembic import op

revision = "0005_subscriptions"
down_revision = "0004_data_requests"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "subscriptions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("citizen_id", sa.Integer(), nullable=False),
        sa.Column("topic", sa.String(length=40), nullable=False),
        sa.Column("area", sa.String(length=80), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("opted_in_at", sa.DateTime(), nullable=False),
        sa.Column("consent_text", sa.Text(), nullable=False),
        sa.Column("consent_message_id", sa.String(length=255), nullable=True),
        sa.Column("opted_out_at", sa.DateTime(), nullable=True),
        sa.Column("opt_out_source", sa.String(length=40), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["citizen_id"], ["citizens.id"], name=op.f("fk_subscriptions_citizen_id_citizens"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_subscriptions")),
        sa.UniqueConstraint("citizen_id", "topic", "area", name="uq_subscriptions_citizen_topic_area"),
    )
    op.create_index("ix_subscriptions_active_topic_area", "subscriptions", ["active", "topic", "area"])

    op.create_table(
        "subscription_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("citizen_id", sa.Integer(), nullable=False),
        sa.Column("action", sa.String(length=12), nullable=False),
        sa.Column("topic", sa.String(length=40), nullable=True),
        sa.Column("area", sa.String(length=80), nullable=True),
        sa.Column("source", sa.String(length=40), nullable=False),
        sa.Column("message_id", sa.String(length=255), nullable=True),
        sa.Column("consent_text", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["citizen_id"], ["citizens.id"],
                                name=op.f("fk_subscription_events_citizen_id_citizens"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_subscription_events")),
    )
    op.create_index(op.f("ix_subscription_events_citizen_id"), "subscription_events", ["citizen_id"])

    op.create_table(
        "announcements",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("topic", sa.String(length=40), nullable=False),
        sa.Column("area", sa.String(length=80), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("image_media_id", sa.Integer(), nullable=True),
        sa.Column("whatsapp_media_id", sa.String(length=128), nullable=True),
        sa.Column("whatsapp_media_uploaded_at", sa.DateTime(), nullable=True),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("status_note", sa.Text(), nullable=True),
        sa.Column("template_name", sa.String(length=512), nullable=True),
        sa.Column("template_language", sa.String(length=20), nullable=True),
        sa.Column("recipients", sa.Integer(), nullable=False),
        sa.Column("created_by", sa.String(length=120), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("queued_by", sa.String(length=120), nullable=True),
        sa.Column("queued_at", sa.DateTime(), nullable=True),
        sa.Column("finished_at", sa.DateTime(), nullable=True),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["image_media_id"], ["media.id"], name=op.f("fk_announcements_image_media_id_media"),
                                ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_announcements")),
    )
    op.create_index("ix_announcements_status", "announcements", ["status", "id"])

    op.create_table(
        "announcement_deliveries",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("announcement_id", sa.Integer(), nullable=False),
        sa.Column("citizen_id", sa.Integer(), nullable=True),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("retries", sa.Integer(), nullable=False),
        sa.Column("throttled", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(), nullable=False),
        sa.Column("claim_token", sa.String(length=64), nullable=True),
        sa.Column("claimed_at", sa.DateTime(), nullable=True),
        sa.Column("sent_at", sa.DateTime(), nullable=True),
        sa.Column("wamid", sa.String(length=255), nullable=True),
        sa.Column("error_code", sa.Integer(), nullable=True),
        sa.Column("error_text", sa.Text(), nullable=True),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["announcement_id"], ["announcements.id"],
                                name=op.f("fk_announcement_deliveries_announcement_id_announcements"), ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["citizen_id"], ["citizens.id"],
                                name=op.f("fk_announcement_deliveries_citizen_id_citizens"), ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_announcement_deliveries")),
        sa.UniqueConstraint("announcement_id", "citizen_id", name="uq_announcement_deliveries_announcement_citizen"),
    )
    op.create_index("ix_announcement_deliveries_status_next", "announcement_deliveries", ["status", "next_attempt_at"])
    op.create_index("ix_announcement_deliveries_announcement_status", "announcement_deliveries",
                    ["announcement_id", "status"])
    op.create_index("ix_announcement_deliveries_claim_token", "announcement_deliveries", ["claim_token"])
    op.create_index(op.f("ix_announcement_deliveries_wamid"), "announcement_deliveries", ["wamid"])

    op.create_table(
        "broadcast_leases",
        sa.Column("name", sa.String(length=40), nullable=False),
        sa.Column("owner", sa.String(length=120), nullable=True),
        sa.Column("expires_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_broadcast_leases")),
    )


def downgrade() -> None:
    op.drop_table("broadcast_leases")
    op.drop_index(op.f("ix_announcement_deliveries_wamid"), table_name="announcement_deliveries")
    op.drop_index("ix_announcement_deliveries_claim_token", table_name="announcement_deliveries")
    op.drop_index("ix_announcement_deliveries_announcement_status", table_name="announcement_deliveries")
    op.drop_index("ix_announcement_deliveries_status_next", table_name="announcement_deliveries")
    op.drop_table("announcement_deliveries")
    op.drop_index("ix_announcements_status", table_name="announcements")
    op.drop_table("announcements")
    op.drop_index(op.f("ix_subscription_events_citizen_id"), table_name="subscription_events")
    op.drop_table("subscription_events")
    op.drop_index("ix_subscriptions_active_topic_area", table_name="subscriptions")
    op.drop_table("subscriptions")
