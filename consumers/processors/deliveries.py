"""The notifier's outbox: deliveries (one message to one person on one channel) and attempts.

A reaction writes a delivery in its own transaction (the intent); the notifier claims a due
delivery (an advisory lock, see ``claim``), sends, and writes the attempt's outcome in one
statement; the Notification aggregate then records each attempt, in order.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, text
from sqlalchemy.orm import Session

from domains.notification.commands import NotificationFacts

CHANNEL = "lis_notifications"  # NOTIFY channel: a new delivery wakes the notifier at commit


@dataclass(frozen=True)
class Delivery:
    id: str  # the notification_id
    organization_id: str
    trigger_event_id: str
    correlation_id: str
    purpose: str
    subject_id: str
    result_id: str | None
    order_id: str | None
    patient_id: str | None
    tier: int
    recipient_role: str
    provider_id: str | None
    recipient_name: str
    channel: str
    address: str | None = field(repr=False)
    address_masked: str
    subject_line: str
    body: str = field(repr=False)
    detected_at: datetime | None = None
    attempt: int = 1

    def facts(self) -> NotificationFacts:
        return NotificationFacts(
            notification_id=self.id, channel=self.channel, recipient_role=self.recipient_role,
            recipient_name=self.recipient_name, contact_masked=self.address_masked,
            purpose=self.purpose, subject_type="critical_value", subject_id=self.subject_id,
            result_id=self.result_id, order_id=self.order_id, patient_id=self.patient_id,
            tier=self.tier,
        )  # fmt: skip


_FIELDS = [
    "id", "organization_id", "trigger_event_id", "correlation_id", "purpose", "subject_id",
    "result_id", "order_id", "patient_id", "tier", "recipient_role", "provider_id",
    "recipient_name", "channel", "address", "address_masked", "subject_line", "body",
    "detected_at", "attempt",
]  # fmt: skip
_SELECT = ", ".join(f"d.{f}" for f in _FIELDS)


def _delivery(row: Any) -> Delivery:
    return Delivery(**{f: getattr(row, f) for f in _FIELDS})


def plan(session: Session, delivery: Delivery) -> None:
    """Write the intent, due now; the notifier wakes when this transaction commits."""
    _insert(session, delivery, status="pending")
    session.execute(text("SELECT pg_notify(:channel, '')"), {"channel": CHANNEL})


def unreachable(session: Session, delivery: Delivery, reason: str) -> None:
    """Nobody or no channel to send to: a failed first attempt, for the record."""
    _insert(session, delivery, status="failed", error=reason)
    session.execute(
        text(
            "INSERT INTO notification_attempts (notification_id, attempt, outcome, error,"
            " will_retry) VALUES (:id, 1, 'failed', :error, false) ON CONFLICT DO NOTHING"
        ),
        {"id": delivery.id, "error": reason},
    )
    session.execute(text("SELECT pg_notify(:channel, '')"), {"channel": CHANNEL})


def _insert(session: Session, d: Delivery, *, status: str, error: str | None = None) -> None:
    values = {f: getattr(d, f) for f in _FIELDS}
    columns = [*_FIELDS, "status", "next_attempt_at", "last_error"]
    session.execute(
        text(
            f"INSERT INTO notification_deliveries ({', '.join(columns)}) VALUES"
            f" ({', '.join(':' + f for f in _FIELDS)}, :status, now(), :error)"
            " ON CONFLICT (id) DO NOTHING"
        ),
        {**values, "status": status, "error": error},
    )


def cancel(session: Session, subject_id: str, reason: str) -> int:
    """Nothing more to send about this subject (read back, or superseded)."""
    done = session.execute(
        text(
            "UPDATE notification_deliveries SET status = 'cancelled', last_error = :reason"
            " WHERE subject_id = :subject AND status = 'pending'"
        ),
        {"subject": subject_id, "reason": reason},
    )
    return int(done.rowcount)  # type: ignore[attr-defined]


def reachable(session: Session, subject_id: str, tier: int) -> bool:
    """Was a delivery of this tier sent, or is one still trying?"""
    found = session.execute(
        text(
            "SELECT 1 FROM notification_deliveries WHERE subject_id = :subject AND tier = :tier"
            " AND status IN ('pending', 'sent') LIMIT 1"
        ),
        {"subject": subject_id, "tier": tier},
    )
    return found.first() is not None


# Deliveries are claimed with a session-level advisory lock, not a row lock: a row lock needs
# a transaction id, held through the send, and the outbox relay waits for every transaction id
# older than the rows it publishes, so a send in progress would hold up every event committed
# meanwhile. The lock goes when its connection goes (a killed notifier frees its deliveries
# at once), and every write below is one autocommitted statement.
_LOCK_CLASS = 8021
_DUE = (
    "d.status = 'pending' AND d.next_attempt_at <= now()"
    " AND NOT EXISTS (SELECT 1 FROM notification_attempts a"
    "   WHERE a.notification_id = d.id AND a.recorded_at IS NULL)"
)


def due(conn: Connection, limit: int = 8) -> list[str]:
    """Ids of due deliveries whose earlier attempts are all recorded (a retry never overtakes
    the failure it retries in the Notification's record), most overdue first."""
    found = conn.execute(
        text(
            f"SELECT d.id FROM notification_deliveries d WHERE {_DUE}"
            " ORDER BY d.next_attempt_at LIMIT :limit"
        ),
        {"limit": limit},
    )
    return [row.id for row in found]


def claim(conn: Connection, delivery_id: str) -> Delivery | None:
    """The delivery, locked for this connection, if no one else holds it and it is still due."""
    params = {"cls": _LOCK_CLASS, "id": delivery_id}
    locked = conn.execute(text("SELECT pg_try_advisory_lock(:cls, hashtext(:id))"), params)
    if not locked.scalar_one():
        return None
    row = conn.execute(
        text(f"SELECT {_SELECT} FROM notification_deliveries d WHERE d.id = :id AND {_DUE}"),
        params,
    ).one_or_none()
    if row is None:  # another notifier finished it between our look and our lock
        release(conn, delivery_id)
        return None
    return _delivery(row)


def release(conn: Connection, delivery_id: str) -> None:
    conn.execute(
        text("SELECT pg_advisory_unlock(:cls, hashtext(:id))"),
        {"cls": _LOCK_CLASS, "id": delivery_id},
    )


def sent(
    conn: Connection, d: Delivery, *, message_id: str, provider_message_id: str | None
) -> None:
    """One statement (one round trip): this runs inside the crash window between the
    server's "250" and our commit, which is the only place a resend can come from."""
    conn.execute(
        text(
            "WITH done AS (UPDATE notification_deliveries SET status = 'sent',"
            " sent_at = clock_timestamp(), provider_message_id = :pmid WHERE id = :id"
            " RETURNING id) INSERT INTO notification_attempts (notification_id, attempt,"
            " outcome, message_id, provider_message_id, will_retry, at)"
            " SELECT id, :attempt, 'sent', :mid, :pmid, false, clock_timestamp() FROM done"
        ),
        {"id": d.id, "attempt": d.attempt, "mid": message_id, "pmid": provider_message_id},
    )


def failed(
    conn: Connection, d: Delivery, *, message_id: str, error: str, retry_at: datetime | None
) -> None:
    """One statement: the delivery waits for its retry (or has failed for good), and the
    attempt is written for the record. A delivery cancelled while this attempt was under way
    (the read-back came, the value was amended) stays cancelled: no retry pages someone about
    a call already answered, and the attempt says it will not be retried."""
    conn.execute(
        text(
            "WITH done AS (UPDATE notification_deliveries SET last_error = CASE"
            "   WHEN status = 'cancelled' THEN last_error ELSE :error END,"
            " status = CASE WHEN status = 'cancelled' THEN 'cancelled'"
            "   WHEN CAST(:retry_at AS timestamptz) IS NULL THEN 'failed' ELSE 'pending' END,"
            " attempt = attempt + CASE WHEN status = 'cancelled'"
            "   OR CAST(:retry_at AS timestamptz) IS NULL THEN 0 ELSE 1 END,"
            " next_attempt_at = CASE WHEN status = 'cancelled' THEN next_attempt_at"
            "   ELSE coalesce(CAST(:retry_at AS timestamptz), next_attempt_at) END"
            " WHERE id = :id RETURNING id, status)"
            " INSERT INTO notification_attempts (notification_id, attempt, outcome, message_id,"
            " error, will_retry, next_attempt_at, at) SELECT id, :attempt, 'failed', :mid,"
            " :error, status = 'pending', CASE WHEN status = 'pending'"
            "   THEN CAST(:retry_at AS timestamptz) END, clock_timestamp() FROM done"
        ),
        {"id": d.id, "attempt": d.attempt, "mid": message_id, "error": error,
         "retry_at": retry_at},
    )  # fmt: skip


@dataclass(frozen=True)
class Attempt:
    delivery: Delivery
    attempt: int
    outcome: str
    message_id: str | None
    provider_message_id: str | None
    error: str | None
    will_retry: bool
    next_attempt_at: datetime | None


def unrecorded(conn: Connection, older_than_s: float) -> Attempt | None:
    """The oldest attempt the Notification aggregate does not have yet, left for longer than
    ``older_than_s`` (the sender records its own at once; this is for one that died first).
    Two notifiers recording the same attempt is harmless: the command id is derived."""
    row = conn.execute(
        text(
            f"SELECT {_SELECT}, a.attempt AS a_attempt, a.outcome, a.message_id,"
            " a.provider_message_id AS a_pmid, a.error, a.will_retry, a.next_attempt_at AS a_next"
            " FROM notification_attempts a JOIN notification_deliveries d"
            " ON d.id = a.notification_id WHERE a.recorded_at IS NULL"
            # nobody to send to: no sender will record it, so at once
            " AND (a.at < clock_timestamp() - make_interval(secs => :grace) OR d.channel = 'none')"
            " ORDER BY a.at, a.attempt LIMIT 1"
        ),
        {"grace": older_than_s},
    ).one_or_none()
    return None if row is None else _attempt(row)


def attempt_of(conn: Connection, delivery_id: str, attempt: int) -> Attempt:
    row = conn.execute(
        text(
            f"SELECT {_SELECT}, a.attempt AS a_attempt, a.outcome, a.message_id,"
            " a.provider_message_id AS a_pmid, a.error, a.will_retry, a.next_attempt_at AS a_next"
            " FROM notification_attempts a JOIN notification_deliveries d"
            " ON d.id = a.notification_id WHERE a.notification_id = :id AND a.attempt = :attempt"
        ),
        {"id": delivery_id, "attempt": attempt},
    ).one()
    return _attempt(row)


def _attempt(row: Any) -> Attempt:
    return Attempt(
        delivery=_delivery(row), attempt=row.a_attempt, outcome=row.outcome,
        message_id=row.message_id, provider_message_id=row.a_pmid, error=row.error,
        will_retry=row.will_retry, next_attempt_at=row.a_next,
    )  # fmt: skip


def recorded(conn: Connection, attempt: Attempt) -> None:
    conn.execute(
        text(
            "UPDATE notification_attempts SET recorded_at = clock_timestamp()"
            " WHERE notification_id = :id AND attempt = :attempt"
        ),
        {"id": attempt.delivery.id, "attempt": attempt.attempt},
    )
