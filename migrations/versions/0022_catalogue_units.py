"""The service catalogue by unit, and withdrawn services (issue 22):

- ``services.unit_code``: the unit of a city's tree that offers a service (a kelurahan's own
  service, a kecamatan's PATEN service); empty for every existing service, which keeps serving
  the whole deployment as before;
- ``service_revisions.withdrawn_by`` / ``withdrawn_at`` / ``withdrawal_reason`` and the status
  ``withdrawn``: an office takes a published service off the public page and WhatsApp, and the
  revision keeps who, when and why.

Downgrading turns each withdrawn revision into a superseded one (the service stays
unpublished, as it was) and drops the new columns: who withdrew it, and why, are lost.

Revision ID: 0022_catalogue_units
Revises: 0021_review_queue
Create Date: 2026-12-07 18:00:00
"""
import sqlalchemy as sa
from alembic import op

revision = "0022_catalogue_units"
down_revision = "0021_review_queue"
branch_labels = None
depends_on = None

OLD_STATUSES = "status IN ('draft', 'published', 'superseded')"
NEW_STATUSES = "status IN ('draft', 'published', 'superseded', 'withdrawn')"


def upgrade() -> None:
    with op.batch_alter_table("services", schema=None) as batch_op:
        batch_op.add_column(sa.Column("unit_code", sa.String(length=20), nullable=True))
        batch_op.create_index(batch_op.f("ix_services_unit_code"), ["unit_code"], unique=False)
    # ``service_revisions`` is referenced by no other table: SQLite may copy it to change the check.
    with op.batch_alter_table("service_revisions", schema=None) as batch_op:
        batch_op.add_column(sa.Column("withdrawn_by", sa.String(length=100), nullable=True))
        batch_op.add_column(sa.Column("withdrawn_at", sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column("withdrawal_reason", sa.Text(), nullable=True))
        batch_op.drop_constraint(op.f("ck_service_revisions_status"), type_="check")
        batch_op.create_check_constraint(op.f("ck_service_revisions_status"), NEW_STATUSES)


def downgrade() -> None:
    op.execute("UPDATE service_revisions SET status = 'superseded' WHERE status = 'withdrawn'")
    with op.batch_alter_table("service_revisions", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_service_revisions_status"), type_="check")
        batch_op.create_check_constraint(op.f("ck_service_revisions_status"), OLD_STATUSES)
        batch_op.drop_column("withdrawal_reason")
        batch_op.drop_column("withdrawn_at")
        batch_op.drop_column("withdrawn_by")
    op.drop_index(op.f("ix_services_unit_code"), table_name="services")
    # Plain DROP COLUMN (SQLite 3.35+, PostgreSQL): a batch copy of ``services`` would trip the
    # foreign key of ``service_revisions`` that points at it.
    op.execute("ALTER TABLE services DROP COLUMN unit_code")
