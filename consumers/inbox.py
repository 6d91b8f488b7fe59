"""The inbox: which events a consumer has applied, recorded in the transaction of the effect."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from infra.db.messaging import InboxRow


def claim(session: Session, consumer: str, event_id: str) -> bool:
    """Record ``event_id`` as applied by ``consumer``; False if it already was.

    Called first in the transaction that applies the event: if the effect fails the claim rolls
    back with it, and a concurrent duplicate (a rebalance hands the partition to another
    instance mid-message) blocks on the primary key until the first commits, then sees it.
    """
    stmt = (
        insert(InboxRow)
        .values(consumer=consumer, event_id=event_id)
        .on_conflict_do_nothing(index_elements=["consumer", "event_id"])
        .returning(InboxRow.event_id)
    )
    return session.execute(stmt).first() is not None


def was_applied(session: Session, consumer: str, event_id: str) -> bool:
    stmt = select(InboxRow.event_id).where(
        InboxRow.consumer == consumer, InboxRow.event_id == event_id
    )
    return session.execute(stmt).first() is not None
