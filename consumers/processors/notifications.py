"""The notifier: sends what the critical value reactions decided, and records every attempt.

Per delivery: claim it (an advisory lock of the sending thread's connection, see
``deliveries``), send it, write the outcome in one statement (sent; or failed, with the retry
time while attempts remain: backoff doubling from ``retry_seconds``). Then the same thread
records the outcome on the Notification aggregate through the bus (RecordNotificationSent /
Failed: NOTIFICATION_SENT / NOTIFICATION_FAILED, caused by the event that asked for the
notification) and marks the attempt recorded; an attempt left unrecorded by a crash is picked
up after a grace (the command id is derived, so recording twice is recording once).

Email and crashes. The send is a side effect outside the transaction, so no protocol makes it
exactly once; what this does:
- the intent (delivery row, attempt number) is committed before any send, by the reaction;
- the Message-ID is derived from (event, recipient, channel, attempt), so a resend is the same
  message to the recipient's mail client (and the gateways get it as an Idempotency-Key);
- the claim is a lock Postgres drops the moment the process dies, so a crash before the
  server's "250" leaves the delivery pending (sent once, later) and a crash after the outcome
  commit leaves it sent (never again). Only a crash in the window between the server's "250"
  and our commit (one statement) sends it again, with the same Message-ID: at most one per
  sending thread per crash. At least once, duplicates confined to that window.
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
from sqlalchemy import Connection, Engine, text

from consumers.processors import deliveries
from consumers.processors.deliveries import Attempt, Delivery
from domains.notification.commands import RecordNotificationFailed, RecordNotificationSent
from domains.notification.ports import Channel, DeliveryFailed, OutgoingMessage, Receipt
from domains.shared.bus import send_retrying_races
from domains.shared.errors import ConcurrencyConflict, DomainError
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
        engine: Engine,
        send_command: Callable[[Command], Outcome],
        channels: Callable[[], Mapping[str, Channel]],
        *,
        listen_conninfo: str | None = None,
        senders: int = 4,
        max_attempts: int = 5,
        retry_seconds: float = 5.0,
        poll_interval: float = 1.0,
        record_grace_s: float = 5.0,
    ) -> None:
        self._engine = engine
        self._send_command = send_command
        self._channels = channels  # a set per sending thread (an SMTP session is not shared)
        self._conninfo = listen_conninfo
        self._senders = max(1, senders)
        self._max_attempts = max_attempts
        self._retry = timedelta(seconds=retry_seconds)
        self.poll_interval = poll_interval
        self._grace = record_grace_s
        self._stop = threading.Event()
        self._wake = threading.Event()
        self.sent = self.failed = self.recorded = 0

    def connect(self) -> Connection:
        """A sending thread's own connection: its advisory locks are its claims, and every
        statement commits on its own (see ``deliveries``)."""
        conn = self._engine.connect().execution_options(isolation_level="AUTOCOMMIT")
        # The outcome's commit need not wait for the WAL flush: a notifier killed after it
        # returns loses nothing; only a crash of Postgres itself could lose the "sent" mark,
        # which then resends the same Message-ID, as any in-doubt send. It shortens the
        # window in which a crash of ours makes a resend.
        conn.execute(text("SET synchronous_commit = off"))
        return conn

    # -- one step each -----------------------------------------------------------------------

    def dispatch_one(self, conn: Connection, channels: Mapping[str, Channel]) -> bool:
        """Send one due delivery, write its outcome and record it; False when none is due."""
        for delivery_id in deliveries.due(conn):
            delivery = deliveries.claim(conn, delivery_id)
            if delivery is None:
                continue  # another sender has it
            try:
                self._dispatch(conn, channels, delivery)
            finally:
                deliveries.release(conn, delivery.id)
            self._record(conn, deliveries.attempt_of(conn, delivery.id, delivery.attempt))
            return True
        return False

    def _dispatch(
        self, conn: Connection, channels: Mapping[str, Channel], delivery: Delivery
    ) -> None:
        mid = message_id(delivery.id, delivery.attempt)
        try:
            receipt = self._send(channels, delivery, mid)
        except Exception as error:
            # Whatever a channel raises is this delivery's failure, recorded as such: one
            # message a channel cannot even build (an address it cannot encode) must never
            # stop the notifier, which would leave it first in line for every sender forever.
            exc = error if isinstance(error, DeliveryFailed) else _channel_fault(delivery, error)
            retry_at = self._retry_at(conn, delivery, exc)
            deliveries.failed(conn, delivery, message_id=mid, error=exc.reason, retry_at=retry_at)
            self.failed += 1
            log.warning(
                "notification.failed", notification_id=delivery.id, channel=delivery.channel,
                attempt=delivery.attempt, reason=exc.reason, will_retry=retry_at is not None,
            )  # fmt: skip
            return
        deliveries.sent(conn, delivery, message_id=mid,
                        provider_message_id=receipt.provider_message_id)  # fmt: skip
        self.sent += 1

    def record_leftover(self, conn: Connection) -> bool:
        """Record an attempt a sender left unrecorded (it died first); False when none is."""
        attempt = deliveries.unrecorded(conn, self._grace)
        if attempt is None:
            return False
        self._record(conn, attempt)
        return True

    def _record(self, conn: Connection, attempt: Attempt) -> None:
        try:
            send_retrying_races(self._send_command, _record(attempt))
        except ConcurrencyConflict:
            raise  # left unrecorded: recorded again from the leftovers, never dropped
        except DomainError as exc:  # a bug upstream (say an unmasked contact): keep going
            log.error("notification.record_refused", notification_id=attempt.delivery.id,
                      error=str(exc))  # fmt: skip
        deliveries.recorded(conn, attempt)
        self.recorded += 1

    def _send(self, channels: Mapping[str, Channel], d: Delivery, mid: str) -> Receipt:
        channel = channels.get(d.channel)
        if channel is None or d.address is None:
            raise DeliveryFailed(f"channel {d.channel} is not configured", permanent=True)
        return channel.send(
            OutgoingMessage(
                channel=d.channel, address=d.address, recipient_name=d.recipient_name,
                subject=d.subject_line, body=d.body, message_id=mid,
            )
        )  # fmt: skip

    def _retry_at(self, conn: Connection, d: Delivery, exc: DeliveryFailed) -> datetime | None:
        if exc.permanent or d.attempt >= self._max_attempts:
            return None
        now: datetime = conn.execute(text("SELECT now()")).scalar_one()
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
                try:
                    with self.connect() as conn:
                        while not self._stop.is_set():
                            self._wake.clear()  # before the work: a NOTIFY during it sets it
                            while not self._stop.is_set() and (
                                self.dispatch_one(conn, channels) or self.record_leftover(conn)
                            ):
                                backoff = self.poll_interval
                            self._wake.wait(self.poll_interval)
                except Exception as exc:  # the database away: the deliveries wait in it
                    log.warning("notifier.retry", error=str(exc), error_type=type(exc).__name__)
                    backoff = min(backoff * 2, 30.0)
                    self._stop.wait(backoff)
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


def _channel_fault(delivery: Delivery, error: Exception) -> DeliveryFailed:
    """A channel's unexpected error as a failed attempt. Its text may hold the address, so
    only its type is kept; a message that cannot be encoded (``ValueError``) never will be."""
    log.error("notification.channel_error", notification_id=delivery.id,
              channel=delivery.channel, error_type=type(error).__name__)  # fmt: skip
    permanent = isinstance(error, ValueError)
    reason = f"{type(error).__name__} in the {delivery.channel} channel"
    return DeliveryFailed(reason, permanent=permanent)


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
