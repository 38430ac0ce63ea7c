"""The service catalogue: offices, their services and each service's revisions (drafts,
published, superseded), with editor and date on each, and the questions citizens asked of it
(``layanwarga/models/services.py``).

Revision ID: 0020_catalogue
Revises: 0018_city_units
Create Date: 2026-12-07 14:00:00
"""
import sqlalchemy as sa
from alembic import op

revision = "0020_catalogue"
down_revision = "0019_staff_units"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "service_agencies",
        sa.Column("code", sa.String(length=40), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("short_name", sa.String(length=60), nullable=False),
        sa.Column("address", sa.Text(), nullable=False),
        sa.Column("contact", sa.Text(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("code", name=op.f("pk_service_agencies")),
    )
    op.create_table(
        "services",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=60), nullable=False),
        sa.Column("agency_code", sa.String(length=40), nullable=False),
        sa.Column("letter_code", sa.String(length=40), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["agency_code"], ["service_agencies.code"], name=op.f("fk_services_agency_code_service_agencies")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_services")),
        sa.UniqueConstraint("code", name=op.f("uq_services_code")),
    )
    op.create_index(op.f("ix_services_agency_code"), "services", ["agency_code"], unique=False)
    op.create_table(
        "service_revisions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("service_id", sa.Integer(), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("aliases", sa.JSON(), nullable=False),
        sa.Column("purpose", sa.Text(), nullable=False),
        sa.Column("requirements", sa.JSON(), nullable=False),
        sa.Column("steps", sa.JSON(), nullable=False),
        sa.Column("fee_amount", sa.Integer(), nullable=True),
        sa.Column("fee_note", sa.Text(), nullable=False),
        sa.Column("legal_basis", sa.Text(), nullable=False),
        sa.Column("processing_time", sa.String(length=200), nullable=False),
        sa.Column("place", sa.Text(), nullable=False),
        sa.Column("hours", sa.String(length=200), nullable=False),
        sa.Column("online_url", sa.String(length=500), nullable=False),
        sa.Column("contact", sa.Text(), nullable=False),
        sa.Column("edited_by", sa.String(length=100), nullable=False),
        sa.Column("edited_at", sa.DateTime(), nullable=False),
        sa.Column("change_note", sa.Text(), nullable=False),
        sa.Column("published_by", sa.String(length=100), nullable=True),
        sa.Column("published_at", sa.DateTime(), nullable=True),
        sa.CheckConstraint("status IN ('draft', 'published', 'superseded')", name=op.f("ck_service_revisions_status")),
        sa.CheckConstraint("fee_amount IS NULL OR fee_amount >= 0", name=op.f("ck_service_revisions_fee_not_negative")),
        sa.ForeignKeyConstraint(
            ["service_id"], ["services.id"], name=op.f("fk_service_revisions_service_id_services"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_service_revisions")),
        sa.UniqueConstraint("service_id", "number", name="uq_service_revisions_service_number"),
    )
    op.create_index("ix_service_revisions_service_status", "service_revisions", ["service_id", "status"], unique=False)
    op.create_table(
        "service_questions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("asked_at", sa.DateTime(), nullable=False),
        sa.Column("outcome", sa.String(length=10), nullable=False),
        sa.Column("service_code", sa.String(length=60), nullable=True),
        sa.Column("text", sa.String(length=200), nullable=True),
        sa.CheckConstraint("outcome IN ('one', 'several', 'none')", name=op.f("ck_service_questions_outcome")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_service_questions")),
    )
    op.create_index(op.f("ix_service_questions_asked_at"), "service_questions", ["asked_at"], unique=False)
    op.create_index(op.f("ix_service_questions_service_code"), "service_questions", ["service_code"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_service_questions_service_code"), table_name="service_questions")
    op.drop_index(op.f("ix_service_questions_asked_at"), table_name="service_questions")
    op.drop_table("service_questions")
    op.drop_index("ix_service_revisions_service_status", table_name="service_revisions")
    op.drop_table("service_revisions")
    op.drop_index(op.f("ix_services_agency_code"), table_name="services")
    op.drop_table("services")
    op.drop_table("service_agencies")
