"""Staff accounts belong to a unit of a city's tree (issue 21): ``staff_users.unit_code`` (the
kecamatan or kelurahan the account works for) and ``staff_users.upt_name`` (an OPD account
limited to one of its agency's field units).

Every existing account keeps both empty, which ``layanwarga.staff_units`` reads as the whole
deployment: in a single-unit database each account sees and does exactly what it did before.

Revision ID: 0019_staff_units
Revises: 0018_city_units
Create Date: 2026-12-07 15:00:00
"""
import sqlalchemy as sa
from alembic import op

revision = "0019_staff_units"
down_revision = "0018_city_units"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("staff_users", schema=None) as batch_op:
        batch_op.add_column(sa.Column("unit_code", sa.String(length=20), nullable=True))
        batch_op.add_column(sa.Column("upt_name", sa.String(length=200), nullable=True))


def downgrade() -> None:
    # Plain DROP COLUMN (SQLite 3.35+, PostgreSQL): a batch copy of ``staff_users`` would trip
    # the foreign keys of sessions and login records that point at it.
    for column in ("upt_name", "unit_code"):
        op.execute(f"ALTER TABLE staff_users DROP COLUMN {column}")
