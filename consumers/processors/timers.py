"""Durable timers in Postgres, and the worker that fires them.

A timer is written in the transaction of the reaction that starts it (so it exists exactly
when the reaction happened), with an id derived from its cause (a redelivered event cannot
start a second one). The worker takes one due timer at a time with ``FOR UPDATE SKIP LOCKED``
(several workers never take the same one), fires it and marks it fired in that transaction.
Firing sends a command whose id is derived from the timer: if the worker dies after the
command committed but before the timer was marked, the timer fires again after the restart and
the command log answers with the first outcome, so no timer is lost and none acts twice.
"""

from __future__ import annotations

import json
import signal
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import structlog
from sqlalchemy import text
from sqlalchemy.orm import Session, sessionmaker

log = structlog.get_logger(__name__)


@dataclass(frozen=True)
class Timer:
    id: str
    organization_id: str
    kind: str
    subject_id: str
    due_at: datetime
    payload: dict[str, Any]
    correlation_id: str
    causation_id: str


# what firing a kind of timer does; returns what happened (kept on the timer row)
Fire = Callable[[Timer], str]


def start(session: Session, timer: Timer) -> None:
    session.execute(
        text(
            "INSERT INTO timers (id, organization_id, kind, subject_id, due_at, status, payload,"
            " correlation_id, causation_id) VALUES (:id, :org, :kind, :subject, :due, 'pending',"
            " CAST(:payload AS jsonb), :correlation, :causation) ON CONFLICT (id) DO NOTHING"
        ),
        {"id": timer.id, "org": timer.organization_id, "kind": timer.kind,
         "subject": timer.subject_id, "due": timer.due_at, "payload": json.dumps(timer.payload),
         "correlation": timer.correlation_id, "causation": timer.causation_id},
    )  # fmt: skip


def cancel(session: Session, subject_id: str, reason: str) -> int:
    done = session.execute(
        text(
            "UPDATE timers SET status = 'cancelled', outcome = :reason, fired_at = NULL"
            " WHERE subject_id = :subject AND status = 'pending'"
        ),
        {"subject": subject_id, "reason": reason},
    )
    return int(done.rowcount)  # type: ignore[attr-defined]


def due_now(session: Session, timer_id: str, unreached: str) -> bool:
    """A pending timer made due now, noting why in its payload (``unreached``); False when
    it is not pending (fired, cancelled) or not started."""
    done = session.execute(
        text(
            "UPDATE timers SET due_at = LEAST(due_at, now()),"
            " payload = payload || jsonb_build_object('unreached', CAST(:why AS text))"
            " WHERE id = :id AND status = 'pending'"
        ),
        {"id": timer_id, "why": unreached},
    )
    return bool(done.rowcount)  # type: ignore[attr-defined]


def first_payload(session: Session, kind: str, subject_id: str) -> dict[str, Any] | None:
    """The payload of the first timer started for ``subject_id`` (its episode's facts)."""
    row = session.execute(
        text(
            "SELECT payload FROM timers WHERE kind = :kind AND subject_id = :subject"
            " ORDER BY created_at LIMIT 1"
        ),
        {"kind": kind, "subject": subject_id},
    ).one_or_none()
    return None if row is None else dict(row.payload)


class TimerWorker:
    def __init__(
        self,
        session_factory: sessionmaker[Session],
        fire: Mapping[str, Fire],
        *,
        poll_interval: float = 0.25,
        retry_after: float = 30.0,
    ) -> None:
        self._sessions = session_factory
        self._fire = dict(fire)
        self.poll_interval = poll_interval
        self._retry_after = retry_after
        self._stop = threading.Event()
        self.fired = 0

    def fire_one(self) -> bool:
        """Fire the most overdue timer; False when none is due."""
        with self._sessions.begin() as session:
            row = session.execute(
                text(
                    "SELECT id, organization_id, kind, subject_id, due_at, payload,"
                    " correlation_id, causation_id FROM timers"
                    " WHERE status = 'pending' AND due_at <= now()"
                    " ORDER BY due_at LIMIT 1 FOR UPDATE SKIP LOCKED"
                )
            ).one_or_none()
            if row is None:
                return False
            timer = Timer(**row._asdict())
            fire = self._fire.get(timer.kind)
            if fire is None:
                outcome, status = f"no handler for timer kind {timer.kind}", "pending"
            else:
                try:
                    outcome, status = fire(timer), "fired"
                except Exception as exc:
                    # a timer must never vanish silently: it stays pending, tried again later
                    log.error("timer.fire_failed", timer_id=timer.id, error=str(exc))
                    outcome, status = f"error: {type(exc).__name__}: {exc}"[:500], "pending"
            if status == "fired":
                done = "fired_at = clock_timestamp()"
            else:  # tried again later
                done = "due_at = now() + make_interval(secs => :retry)"
            session.execute(
                text(
                    f"UPDATE timers SET status = :status, outcome = :outcome, {done} WHERE id = :id"
                ),
                {"id": timer.id, "status": status, "outcome": outcome, "retry": self._retry_after},
            )
        if status == "fired":
            self.fired += 1
            log.info("timer.fired", timer_id=timer.id, kind=timer.kind, outcome=outcome)
        return True

    def run(self) -> None:
        if threading.current_thread() is threading.main_thread():
            for sig in (signal.SIGTERM, signal.SIGINT):
                signal.signal(sig, lambda *_: self.stop())
        backoff = self.poll_interval
        while not self._stop.is_set():
            try:
                while not self._stop.is_set() and self.fire_one():
                    pass
                backoff = self.poll_interval
            except Exception as exc:  # the database away: back off, the timers are kept
                log.warning("timer.retry", error=str(exc), error_type=type(exc).__name__)
                backoff = min(backoff * 2, 30.0)
            self._stop.wait(backoff)

    def stop(self) -> None:
        self._stop.set()
