"""The notifier: sends what the critical value reactions decided, and records every attempt.

Per delivery, in one transaction: claim it (``FOR UPDATE SKIP LOCKED``), send it, write the
outcome (sent; or failed, with the retry time while attempts remain: backoff doubling from
``retry_seconds``). Then the outcome is recorded on the Notification aggregate through the bus
(RECORD_NOTIFICATION_*: NOTIFICATION_SENT / NOTIFICATION_FAILED, caused by the event that asked
for the notification), and the attempt is marked recorded; an attempt left unrecorded by a
crash is picked up by the next pass (the command id is derived, so recording twice is one).

Email and crashes. The send is a side effect outside the transaction, so no protocol makes it
exactly once; what this does:
- the intent (delivery row, attempt number) is committed before any send, by the reaction;
- the Message-ID is derived from (event, recipient, channel, attempt), so a resend is the same
  message to the recipient's mail client (and the gateways get it as an Idempotency-Key);
- the claim holds a row lock for the send, which Postgres drops the moment the process dies, so
  a crash before the server's "250" leaves the delivery pending (sent once, later) and a crash
  after the outcome commit leaves it sent (never again). Only a crash in the window between the
  server's "250" and our commit (one UPDATE, one INSERT, one COMMIT: about a millisecond) sends
  it twice, with the same Message-ID. At least once, duplicates confined to that window.
"""

from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from typing import Any

import psycopg
import structlog
from sqlalchemy import text
from sqlalchemy.orm import Session, sessionmaker

from consumers.processors import deliveries
from consumers.processors.deliveries import Attempt, Delivery
from domains.notification.commands import RecordNotificationFailed, RecordNotificationSent
from domains.notification.ports import Channel, DeliveryFailed, OutgoingMessage
from domains.shared.errors import DomainError
from domains.shared.ids import derived_id
from domains.shared.messages import Command
from domains.shared.uow import Outcome

log = structlog.get_logger(__name__)
MAX_BACKOFF = timedelta(minutes=5)


def message_id(delivery_id: str, attempt: int, domain: str = "lis.local") -> str:
    return f"<{derived_id('notifier', delivery_id, str(attempt))}@{domain}>"


class Notifier:
    def __init__(
        self,
        session_factory: sessionmaker[Session],
        send_command: Callable[[Command], Outcome],
        channels: Callable[[], Mapping[str, Channel]],
        *,
        listen_conninfo: str | None = None,
        senders: int = 4,
        max_attempts: int = 5,
        retry_seconds: float = 5.0,
        poll_interval: float = 1.0,
    ) -> None:
        self._sessions = session_factory
        self._send_command = send_command
        self._channels = channels  # a set per sending thread (an SMTP session is not shared)
        self._conninfo = listen_conninfo
        self._senders = max(1, senders)
        self._max_attempts = max_attempts
        self._retry = timedelta(seconds=retry_seconds)
        self.poll_interval = poll_interval
        self._stop = threading.Event()
        self._wake = threading.Event()
        self.sent = self.failed = self.recorded = 0

    # -- one step each -----------------------------------------------------------------------

    def dispatch_one(self, channels: Mapping[str, Channel]) -> bool:
        """Send the next due delivery and commit its outcome; False when none is due."""
        with self._sessions.begin() as session:
            delivery = deliveries.claim_due(session)
            if delivery is None:
                return False
            # The commit after the send need not wait for the WAL flush: a process killed
            # after it returns loses nothing, and only a crash of Postgres itself could lose
            # the "sent" mark, which then resends the same Message-ID, as any in-doubt send.
            # It shortens the window in which a crash of ours makes a resend.
            session.execute(text("SET LOCAL synchronous_commit = off"))
            mid = message_id(delivery.id, delivery.attempt)
            try:
                receipt = self._send(channels, delivery, mid)
            except DeliveryFailed as exc:
                retry_at = self._retry_at(session, delivery, exc)
                deliveries.failed(
                    session, delivery, message_id=mid, error=exc.reason, retry_at=retry_at
                )
                self.failed += 1
                log.warning(
                    "notification.failed", notification_id=delivery.id, channel=delivery.channel,
                    attempt=delivery.attempt, reason=exc.reason, will_retry=retry_at is not None,
                )  # fmt: skip
            else:
                deliveries.sent(
                    session, delivery, message_id=mid,
                    provider_message_id=receipt.provider_message_id,
                )  # fmt: skip
                self.sent += 1
        return True

    def record_one(self) -> bool:
        """Record the oldest unrecorded attempt on its Notification; False when none is left."""
        with self._sessions.begin() as session:
            attempt = deliveries.claim_unrecorded(session)
            if attempt is None:
                return False
            try:
                self._send_command(_record(attempt))
            except DomainError as exc:  # a bug upstream (say an unmasked contact): keep going
                log.error("notification.record_refused", notification_id=attempt.delivery.id,
                          error=str(exc))  # fmt: skip
            deliveries.recorded(session, attempt)
            self.recorded += 1
        return True

    def _send(self, channels: Mapping[str, Channel], d: Delivery, mid: str) -> Any:
        channel = channels.get(d.channel)
        if channel is None or d.address is None:
            raise DeliveryFailed(f"channel {d.channel} is not configured", permanent=True)
        return channel.send(
            OutgoingMessage(
                channel=d.channel, address=d.address, recipient_name=d.recipient_name,
                subject=d.subject_line, body=d.body, message_id=mid,
            )
        )  # fmt: skip

    def _retry_at(self, session: Session, d: Delivery, exc: DeliveryFailed) -> datetime | None:
        if exc.permanent or d.attempt >= self._max_attempts:
            return None
        now: datetime = session.execute(text("SELECT now()")).scalar_one()
        backoff: timedelta = min(self._retry * 2 ** (d.attempt - 1), MAX_BACKOFF)
        return now + backoff

    # -- the loops ---------------------------------------------------------------------------

    def run(self) -> None:
        """Sending threads plus a listener that wakes them on NOTIFY, until ``stop()``."""
        if threading.current_thread() is threading.main_thread():
            for sig in (signal.SIGTERM, signal.SIGINT):
                signal.signal(sig, lambda *_: self.stop())
        threads = [
            threading.Thread(target=self._sender, name=f"notifier-{i}", daemon=True)
            for i in range(self._senders)
        ]
        for thread in threads:
            thread.start()
        try:
            self._listen()
        finally:
            self._stop.set()
            self._wake.set()
            for thread in threads:
                thread.join(timeout=60)

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()

    def _sender(self) -> None:
        channels = self._channels()
        backoff = self.poll_interval
        try:
            while not self._stop.is_set():
                self._wake.clear()  # before the work: a NOTIFY during it sets it again
                try:
                    while not self._stop.is_set() and (
                        self.dispatch_one(channels) or self.record_one()
                    ):
                        pass
                    backoff = self.poll_interval
                except Exception as exc:  # the database away: the deliveries wait in it
                    log.warning("notifier.retry", error=str(exc), error_type=type(exc).__name__)
                    backoff = min(backoff * 2, 30.0)
                    self._stop.wait(backoff)
                    continue
                self._wake.wait(self.poll_interval)
        finally:
            for channel in channels.values():
                channel.close()

    def _listen(self) -> None:
        """LISTEN for new deliveries; without a connection, the senders simply poll."""
        while not self._stop.is_set():
            if self._conninfo is None:
                self._stop.wait(1.0)
                continue
            try:
                with psycopg.connect(self._conninfo, autocommit=True) as conn:
                    conn.execute(f"LISTEN {deliveries.CHANNEL}")
                    while not self._stop.is_set():
                        for _ in conn.notifies(timeout=1.0, stop_after=1):
                            self._wake.set()
            except psycopg.Error as exc:
                log.warning("notifier.listen_failed", error=str(exc))
                with contextlib.suppress(Exception):
                    self._stop.wait(self.poll_interval)


def _record(a: Attempt) -> Command:
    d = a.delivery
    ids: dict[str, Any] = {
        "organization_id": d.organization_id, "user_id": None,
        "command_id": derived_id("notifier", d.id, str(a.attempt), a.outcome),
        "correlation_id": d.correlation_id, "causation_id": d.trigger_event_id,
        "notification": d.facts(), "attempt": a.attempt,
    }  # fmt: skip
    if a.outcome == "sent":
        return RecordNotificationSent(
            **ids, message_id=a.message_id, provider_message_id=a.provider_message_id
        )
    return RecordNotificationFailed(
        **ids, reason=a.error or "failed", will_retry=a.will_retry,
        next_attempt_at=a.next_attempt_at,
    )  # fmt: skip
