"""clinical safety and payments (issue 12, part B): command payload fingerprints, Aadhaar blind
index, likely-duplicate key without the mobile

Revision ID: 0008
Revises: 0004
Create Date: 2026-12-03 09:00:00

- command_log.payload_hash: the keyed digest of what a command asked for, so a command id
  reused with another body is refused instead of answered with the first outcome. NULL for the
  rows already there (nobody can tell now what they asked for): those replay as before.
- patients.aadhaar_index: keyed hash of the Aadhaar number, unique per organization among
  charts that are not deleted. Existing rows stay NULL: the key is not the database's to know,
  so they are indexed when next updated with their Aadhaar (``lis`` has no backfill yet).
- patients.duplicate_key: now name + date of birth (it needed a mobile before, so patients
  without one were never checked). Recomputed here for existing rows with Python's casefold,
  as the domain computes it.
- payments: the Payment aggregate (one invoice per order, its payments, failed attempts and
  refunds), stored like the other aggregates.
- patient_keys: a data key per patient, wrapped under LIS_PHI_KEY, for crypto-shredding the
  names and date of birth patient events carry sealed (``sealed_phi``).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0008"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("command_log", sa.Column("payload_hash", sa.String(length=64), nullable=True))
    op.add_column("patients", sa.Column("aadhaar_index", sa.String(length=64), nullable=True))
    op.create_index(
        "uq_patients_organization_id_aadhaar_index",
        "patients",
        ["organization_id", "aadhaar_index"],
        unique=True,
        postgresql_where=sa.text("aadhaar_index IS NOT NULL AND status <> 'deleted'"),
    )
    _recompute_duplicate_keys()
    op.create_table(
        "payments",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("organization_id", sa.String(length=64), nullable=False),
        sa.Column("version", sa.BigInteger(), nullable=False),
        sa.Column("status", sa.String(length=32), nullable=False),
        sa.Column("order_id", sa.String(length=64), nullable=False),
        sa.Column("patient_id", sa.String(length=64), nullable=False),
        sa.Column("data", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_payments")),
        sa.UniqueConstraint(
            "organization_id", "order_id", name="uq_payments_organization_id_order_id"
        ),
    )
    op.create_index(
        op.f("ix_payments_organization_id"), "payments", ["organization_id"], unique=False
    )
    op.create_index(op.f("ix_payments_patient_id"), "payments", ["patient_id"], unique=False)
    op.create_table(
        "patient_keys",
        sa.Column("organization_id", sa.String(length=64), nullable=False),
        sa.Column("patient_id", sa.String(length=64), nullable=False),
        sa.Column("wrapped_key", sa.Text(), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("shredded_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("organization_id", "patient_id", name=op.f("pk_patient_keys")),
    )


def downgrade() -> None:
    op.drop_table("patient_keys")
    op.drop_table("payments")
    op.drop_index("uq_patients_organization_id_aadhaar_index", table_name="patients")
    op.drop_column("patients", "aadhaar_index")
    op.drop_column("command_log", "payload_hash")


def _recompute_duplicate_keys() -> None:
    conn = op.get_bind()
    rows = conn.execute(
        sa.text("SELECT id, family_name, given_name, date_of_birth FROM patients")
    ).all()
    for row in rows:
        key = "|".join(
            (
                (row.family_name or "").casefold(),
                (row.given_name or "").casefold(),
                row.date_of_birth.isoformat() if row.date_of_birth else "",
            )
        )
        conn.execute(
            sa.text(
                "UPDATE patients SET duplicate_key = CAST(:key AS text), "
                "data = jsonb_set(data, '{duplicate_key}', to_jsonb(CAST(:key AS text))) "
                "WHERE id = :id"
            ),
            {"key": key, "id": row.id},
        )
