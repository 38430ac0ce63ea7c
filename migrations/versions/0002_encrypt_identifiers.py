"""Applicant NIK and phone are stored encrypted: widen both columns to text.

Existing clear values stay readable (EncryptedText returns unprefixed values as they are) and
are encrypted by `python -m layanwarga.crypto rotate`.

Revision ID: 0002_encrypt_identifiers
Revises: 0001
Create Date: 2026-11-23 13:40:00
"""
import sqlalchemy as sa
from alembic import op

revision = "0002_encrypt_identifiers"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("tickets") as batch:
        batch.alter_column("applicant_nik", type_=sa.Text(), existing_type=sa.String(255), existing_nullable=True)
        batch.alter_column("applicant_phone", type_=sa.Text(), existing_type=sa.String(32), existing_nullable=True)


def downgrade() -> None:
    with op.batch_alter_table("tickets") as batch:
        batch.alter_column("applicant_phone", type_=sa.String(32), existing_type=sa.Text(), existing_nullable=True)
        batch.alter_column("applicant_nik", type_=sa.String(255), existing_type=sa.Text(), existing_nullable=True)
