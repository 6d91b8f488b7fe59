"""outbox notify: wake the relay when a transaction that wrote outbox rows commits

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-22 00:10:00

A statement-level trigger, so a command that writes ten events sends one notification, and
Postgres delivers it only at commit (and folds duplicates within the transaction). The relay
still polls: a notification can be missed (relay reconnecting) and rows held back by some other
long transaction never produce one. NOTIFY only shortens the latency.
"""

from __future__ import annotations

from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        """
        CREATE FUNCTION outbox_notify() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            PERFORM pg_notify('outbox', '');
            RETURN NULL;
        END $$;
        """
    )
    op.execute(
        "CREATE TRIGGER outbox_notify AFTER INSERT ON outbox "
        "FOR EACH STATEMENT EXECUTE FUNCTION outbox_notify()"
    )


def downgrade() -> None:
    op.execute("DROP TRIGGER IF EXISTS outbox_notify ON outbox")
    op.execute("DROP FUNCTION IF EXISTS outbox_notify()")
