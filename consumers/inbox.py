"""The inbox: which events a consumer has applied, recorded in the transaction of the effect.

Plain SQL on the ``inbox`` table (defined with the other messaging tables in ``infra/db`` and
created by the migrations): the consumer layer needs the table, not the ORM that maps it.
"""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.orm import Session

_CLAIM = text(
    "INSERT INTO inbox (consumer, event_id) VALUES (:consumer, :event_id)"
    " ON CONFLICT (consumer, event_id) DO NOTHING RETURNING event_id"
)


def claim(session: Session, consumer: str, event_id: str) -> bool:
    """Record ``event_id`` as applied by ``consumer``; False if it already was.

    Called first in the transaction that applies the event: if the effect fails the claim rolls
    back with it, and a concurrent duplicate (a rebalance hands the partition to another
    instance mid-message) blocks on the primary key until the first commits, then sees it.
    """
    params = {"consumer": consumer, "event_id": event_id}
    return session.execute(_CLAIM, params).first() is not None
