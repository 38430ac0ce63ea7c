"""Units of a city's tree on citizens and tickets (issue 21, ``layanwarga.unit_routing``).

``citizens``: the remembered unit (``unit_code``, ``unit_source``, ``unit_updated_at``).
``tickets``: the unit that handles it (``unit_code``), the kelurahan and kecamatan of the place
reported or of the applicant (``kelurahan_code``, ``kecamatan_code``), the agency's field unit
(``upt_name``) and how the place was known (``unit_source``), with indexes for a unit's inbox.

Every existing row stays. A single-unit deployment (a configuration without ``units``, whose
``institution.region_code`` names its kelurahan) handled every ticket itself, so its tickets get
that unit; citizens are not given one (where they live was never asked). In a city's deployment,
or when the configuration cannot be read, existing tickets keep no unit, which the domain reads
as the root unit: the city's triage sees them, nothing is lost.

Revision ID: 0018_city_units
Revises: 0015_state_change_notes
Create Date: 2026-12-07 14:00:00
"""
import logging
from typing import Optional, Tuple

import sqlalchemy as sa
from alembic import op

revision = "0018_city_units"
down_revision = "0017_supporters"
branch_labels = None
depends_on = None

logger = logging.getLogger("alembic.runtime.migration")

_KECAMATAN_LEVEL, _VILLAGE_LEVEL = 3, 4


def _single_unit() -> Optional[Tuple[str, int]]:
    """The code and level of the deployment's one unit, None for a city or an unreadable file."""
    from layanwarga.config import load_institution
    from layanwarga.config_values import ConfigError

    try:
        tree = load_institution().units
    except ConfigError as exc:
        logger.warning("0018_city_units: existing tickets not given a unit (they go to the root unit): %s", exc)
        return None
    if not tree.single or not tree.root.code:
        return None
    return tree.root.code, tree.root.level


def upgrade() -> None:
    with op.batch_alter_table("citizens", schema=None) as batch_op:
        batch_op.add_column(sa.Column("unit_code", sa.String(length=20), nullable=True))
        batch_op.add_column(sa.Column("unit_source", sa.String(length=10), nullable=True))
        batch_op.add_column(sa.Column("unit_updated_at", sa.DateTime(), nullable=True))
    with op.batch_alter_table("tickets", schema=None) as batch_op:
        batch_op.add_column(sa.Column("unit_code", sa.String(length=20), nullable=True))
        batch_op.add_column(sa.Column("kelurahan_code", sa.String(length=20), nullable=True))
        batch_op.add_column(sa.Column("kecamatan_code", sa.String(length=20), nullable=True))
        batch_op.add_column(sa.Column("upt_name", sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column("unit_source", sa.String(length=10), nullable=True))
        batch_op.create_index("ix_tickets_unit_created", ["unit_code", "created_at"], unique=False)
        batch_op.create_index("ix_tickets_kelurahan_created", ["kelurahan_code", "created_at"], unique=False)
        batch_op.create_index("ix_tickets_kecamatan_created", ["kecamatan_code", "created_at"], unique=False)

    single = _single_unit()
    if single is None:
        return
    code, level = single
    kelurahan = code if level == _VILLAGE_LEVEL else None
    kecamatan = code.rsplit(".", 1)[0] if level == _VILLAGE_LEVEL else (code if level == _KECAMATAN_LEVEL else None)
    op.get_bind().execute(
        sa.text("UPDATE tickets SET unit_code = :unit, kelurahan_code = :kel, kecamatan_code = :kec WHERE unit_code IS NULL"),
        {"unit": code, "kel": kelurahan, "kec": kecamatan},
    )


def downgrade() -> None:
    # Plain DROP COLUMN (SQLite 3.35+, PostgreSQL): a batch copy of ``citizens`` would trip the
    # foreign keys that point at it.
    for index in ("ix_tickets_kecamatan_created", "ix_tickets_kelurahan_created", "ix_tickets_unit_created"):
        op.drop_index(index, table_name="tickets")
    for column in ("unit_source", "upt_name", "kecamatan_code", "kelurahan_code", "unit_code"):
        op.execute(f"ALTER TABLE tickets DROP COLUMN {column}")
    for column in ("unit_updated_at", "unit_source", "unit_code"):
        op.execute(f"ALTER TABLE citizens DROP COLUMN {column}")
