"""outbox schema fingerprint: which writer schema a row's Avro bytes were written with

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-22 00:40:00

The relay frames each row with the registry id of the schema the row was WRITTEN with, found by
this fingerprint (producers/fingerprints.py), not with its own current schema.

Existing rows get a server default of '' ("unknown"), not a backfill: no one can tell after
the fact which schema version wrote a row, and a backfill with today's fingerprints would only
spell the same guess as a fact. '' tells the relay to use its current schema, which is what it
did before this migration. The default also stays for now: during a rolling deploy the previous
code keeps inserting rows without the column, and NOT NULL without a default would fail its
commands. So: ship this release without an event schema change, and drop the default in a later
migration once no pre-0004 writer can run. A constant default is metadata only in Postgres 11+:
no table rewrite, no long lock on a busy outbox.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column(
        "outbox",
        sa.Column("schema_fingerprint", sa.String(length=64), server_default="", nullable=False),
    )


def downgrade() -> None:
    op.drop_column("outbox", "schema_fingerprint")
