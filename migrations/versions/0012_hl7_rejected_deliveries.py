"""hl7 deliveries: a message a receiver keeps rejecting is set aside, not retried forever

Revision ID: 0012
Revises: 0006
Create Date: 2026-12-03 15:40:00

``hl7_deliveries.rejected_at``: when the sender gave up on a message its receiver answered
with a NAK (AE/AR) too many times. Each subscriber's queue is sent in order, so a message
retried forever would hold back every later result for that system; a rejected one is set
aside (logged as an error, left for the interface team) and the queue moves on. The sender's
index now covers the messages neither acknowledged nor rejected.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column(
        "hl7_deliveries", sa.Column("rejected_at", sa.DateTime(timezone=True), nullable=True)
    )
    op.drop_index(
        "ix_hl7_deliveries_pending",
        table_name="hl7_deliveries",
        postgresql_where=sa.text("acked_at IS NULL"),
    )
    op.create_index(
        "ix_hl7_deliveries_pending",
        "hl7_deliveries",
        ["subscription_id", "seq"],
        unique=False,
        postgresql_where=sa.text("acked_at IS NULL AND rejected_at IS NULL"),
    )


def downgrade() -> None:
    op.drop_index(
        "ix_hl7_deliveries_pending",
        table_name="hl7_deliveries",
        postgresql_where=sa.text("acked_at IS NULL AND rejected_at IS NULL"),
    )
    op.create_index(
        "ix_hl7_deliveries_pending",
        "hl7_deliveries",
        ["subscription_id", "seq"],
        unique=False,
        postgresql_where=sa.text("acked_at IS NULL"),
    )
    op.drop_column("hl7_deliveries", "rejected_at")
