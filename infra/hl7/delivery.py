"""Verified results to subscribed systems: the intent is recorded with the event, the message
is sent until it is acknowledged, and never again after that.

``ResultIntents`` (worker ``hl7-results``) reads RESULT_VERIFIED (and RESULT_INVALIDATED of a
released value: the value sent before is posted again as wrong, OBX-11 "W", so no receiving
system keeps acting on it) on the consumer loop and, in
the transaction that claims the event in the inbox, writes one ``hl7_deliveries`` row per
active subscriber with the message built then (id and control id derived from event and
subscriber: a redelivered event adds nothing). So an intent is never lost and never doubled.

``ResultSender`` (``lis hl7 deliver``) sends each subscriber's oldest unacknowledged message
over MLLP (per subscriber in order: a corrected value never overtakes the value it corrects),
holding a per-subscriber advisory lock (no transaction stays open through the exchange, which
would hold up the outbox relay), and records the attempt and the outcome in one transaction:
an ACK (MSA AA/CA for this control id) marks it delivered; a NAK, a timeout, a refused or
dropped connection schedules a retry with growing backoff. A message the
receiver keeps refusing (``max_naks`` NAKs: AE or AR) is set aside (``rejected_at``, an error
in the log for the interface team) so that one message the receiver will never take does not
hold back every later result of that subscriber; a receiver that is down (timeouts, refused
or dropped connections) is waited for, never given up on. The one window
left (an ACK received, then the database lost before the commit) resends the same control id,
which a receiver recognises as a duplicate: HL7's own rule for resends.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import structlog
from sqlalchemy import Connection, Engine, func, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from consumers.base import Received
from domains.order.model import Order
from domains.patient.model import Patient
from domains.result.events import ResultInvalidated, ResultVerified
from domains.result.model import Result
from domains.sample.model import Sample
from domains.shared.clock import Clock
from domains.shared.ids import derived_id
from infra.db.interop import Hl7DeliveryAttemptRow, Hl7DeliveryRow, Hl7SubscriptionRow
from infra.db.repository import SqlRepository, table_for
from infra.hl7 import mllp
from infra.hl7.er7 import Seg
from infra.hl7.oru_out import ResultMessage, oru_r01
from producers.topics import Topics
from schemas.catalog import event_classes

log = structlog.get_logger(__name__)
NAME = "hl7-results"


class ResultIntents:
    """A consumer-loop handler (``consumers.base.Handler``): RESULT_VERIFIED -> delivery rows."""

    name = NAME

    def __init__(self, topics: Topics, clock: Clock) -> None:
        self.topics: Sequence[str] = [topics.for_event(ResultVerified)]
        self._clock = clock
        self.recorded = 0

    def handle(self, message: Received, session: Session) -> None:
        if event_classes().get(message.schema_name) not in (ResultVerified, ResultInvalidated):
            return
        envelope = message.envelope
        event, meta = envelope.event, envelope.metadata
        if isinstance(event, ResultInvalidated) and not event.was_released:
            return  # never sent, so nothing to take back
        assert isinstance(event, ResultVerified | ResultInvalidated)
        subscribers = session.execute(
            select(Hl7SubscriptionRow).where(
                Hl7SubscriptionRow.organization_id == meta.organization_id,
                Hl7SubscriptionRow.active.is_(True),
            )
        ).scalars()
        content: ResultMessage | None = None
        for sub in subscribers:
            content = content or result_message(
                session, meta.organization_id, event, meta.occurred_at
            )
            delivery_id = derived_id(NAME, meta.event_id, sub.id)
            control_id = uuid.UUID(delivery_id).hex[:20]  # MSH-10 is at most 20 characters
            text = oru_r01(
                content,
                control_id=control_id,
                receiving=(sub.receiving_application, sub.receiving_facility),
                now=self._clock.now(),
            )
            session.execute(
                insert(Hl7DeliveryRow)
                .values(
                    id=delivery_id, organization_id=meta.organization_id,
                    subscription_id=sub.id, event_id=meta.event_id, result_id=event.result_id,
                    control_id=control_id, message=text,
                )
                .on_conflict_do_nothing()
            )  # fmt: skip
            self.recorded += 1


def result_message(
    session: Session,
    organization_id: str,
    event: ResultVerified | ResultInvalidated,
    verified_at: datetime,
) -> ResultMessage:
    """The message's content: the verified value from the event (or, for a withdrawn result,
    the value that was released and is now posted as wrong), the rest from the aggregates."""

    def load(cls: Any, aggregate_id: str) -> Any:
        return SqlRepository(cls, session, table_for(cls)).get(organization_id, aggregate_id)

    result: Result = load(Result, event.result_id)
    sample: Sample = load(Sample, event.sample_id)
    order: Order = load(Order, event.order_id)
    patient: Patient = load(Patient, sample.patient_id)
    d = patient.demographics
    corrected = any(
        a.get("after_verification") and datetime.fromisoformat(a["amended_at"]) <= verified_at
        for a in result.amendments
    )
    return ResultMessage(
        organization_id=organization_id, mrn=patient.mrn, family_name=d.family_name,
        given_name=d.given_name, date_of_birth=d.date_of_birth, sex=d.sex,
        placer_order_number=order.placer_order_number,
        clinician_name=order.clinician_name, accession_number=sample.accession_number,
        specimen_type=sample.specimen_type, collected_at=sample.collected_at,
        received_at=sample.received_at, loinc_code=event.loinc_code, test_name=result.test_name,
        reference_text=result.interpretation.reference_text, corrected=corrected,
        verified_at=verified_at, analyzer_id=result.analyzer_id, analyzed_at=result.analyzed_at,
        **_value_of(event, result),
    )  # fmt: skip


def _value_of(event: ResultVerified | ResultInvalidated, result: Result) -> dict[str, Any]:
    if isinstance(event, ResultInvalidated):
        return {
            "value_text": event.previous_value_text, "unit": result.reading.unit,
            "flag": event.previous_flag, "verified_by": event.invalidated_by, "withdrawn": True,
        }  # fmt: skip
    return {
        "value_text": event.value_text, "unit": event.unit, "flag": event.flag,
        "verified_by": event.verified_by,
    }  # fmt: skip


# a message still to send: neither acknowledged nor set aside
_WAITING = (Hl7DeliveryRow.acked_at.is_(None), Hl7DeliveryRow.rejected_at.is_(None))


@dataclass(frozen=True)
class Outcome:
    kind: str  # acked | nak | timeout | refused | dropped | error
    detail: str
    ack: str | None = None


class ResultSender:
    def __init__(
        self,
        engine: Engine,
        clock: Clock,
        *,
        timeout: float = 10.0,
        first_backoff: float = 1.0,
        max_backoff: float = 60.0,
        poll: float = 0.5,
        max_naks: int = 5,
    ) -> None:
        self.engine, self.clock = engine, clock
        self.timeout, self.first_backoff, self.max_backoff = timeout, first_backoff, max_backoff
        self.poll, self.max_naks = poll, max_naks
        self._stop = threading.Event()

    def run(self) -> None:
        """Send until ``stop()``; sleeps ``poll`` seconds when nothing was due."""
        log.info("hl7.sender.started")
        while not self._stop.is_set():
            try:
                busy = self.send_due()
            except Exception as exc:  # the database is away: wait, then carry on
                log.warning("hl7.sender.retry", error=str(exc), error_type=type(exc).__name__)
                busy = 0
            if not busy:
                self._stop.wait(self.poll)
        log.info("hl7.sender.stopped")

    def stop(self) -> None:
        self._stop.set()

    def send_due(self) -> int:
        """One pass: the oldest due message of each subscriber; how many were tried."""
        with self.engine.connect() as conn:
            subscribers = conn.execute(
                select(Hl7DeliveryRow.subscription_id).where(*_WAITING).distinct()
            ).scalars().all()  # fmt: skip
        return sum(self._send_next(sub) for sub in subscribers)

    def _send_next(self, subscription_id: str) -> bool:
        # A session-level advisory lock per subscriber, and no transaction open during the
        # exchange: a row lock would hold a transaction id through the round trip (up to the
        # timeout), and the outbox relay publishes nothing committed after the oldest running
        # transaction id, so every event of the lab would wait for a slow receiver.
        key = func.hashtext(f"hl7-sub:{subscription_id}")
        with self.engine.connect() as conn:
            locked = conn.scalar(select(func.pg_try_advisory_lock(key)))
            conn.commit()
            if not locked:
                return False  # another sender has this subscriber
            try:
                return self._send_locked(conn, subscription_id)
            finally:
                conn.rollback()
                conn.execute(select(func.pg_advisory_unlock(key)))
                conn.commit()

    def _send_locked(self, conn: Connection, subscription_id: str) -> bool:
        row = conn.execute(
            select(Hl7DeliveryRow)
            .where(Hl7DeliveryRow.subscription_id == subscription_id, *_WAITING)
            .order_by(Hl7DeliveryRow.seq)
            .limit(1)
        ).first()
        sub = conn.execute(
            select(Hl7SubscriptionRow).where(Hl7SubscriptionRow.id == subscription_id)
        ).one()
        conn.commit()  # nothing held through the exchange but the advisory lock
        now = self.clock.now()
        if row is None or row.next_attempt_at > now:
            return False  # in order: a later message waits for the earlier one
        outcome = self._exchange(sub.host, sub.port, row.message, row.control_id)
        self._record(conn, row, outcome, now)  # the attempt and its outcome: one transaction
        conn.commit()
        return True

    def _exchange(self, host: str, port: int, message: str, control_id: str) -> Outcome:
        try:
            answer = mllp.exchange(host, port, message, timeout=self.timeout)
        except ConnectionRefusedError as exc:
            return Outcome("refused", str(exc))
        except TimeoutError as exc:
            return Outcome("timeout", str(exc) or "no answer in time")
        except (mllp.ConnectionDropped, ConnectionResetError, BrokenPipeError) as exc:
            return Outcome("dropped", str(exc))
        except (OSError, mllp.FramingError) as exc:
            return Outcome("error", str(exc))
        msa = next((line for line in answer.split("\r") if line.startswith("MSA|")), "")
        seg = Seg("MSA", msa.split("|"))
        if seg.get(1) in ("AA", "CA") and seg.get(2) == control_id:
            return Outcome("acked", seg.get(1), answer)
        return Outcome("nak", f"{seg.get(1) or 'no MSA'} {seg.get(3)}".strip(), answer)

    def _record(self, conn: Connection, row: Any, outcome: Outcome, now: datetime) -> None:
        attempt = row.attempts + 1
        conn.execute(
            insert(Hl7DeliveryAttemptRow).values(
                delivery_id=row.id, attempt=attempt, outcome=outcome.kind, detail=outcome.detail
            )
        )
        values: dict[str, Any] = {"attempts": attempt}
        naks = 0
        if outcome.kind == "nak":
            naks = conn.scalar(
                select(func.count()).where(
                    Hl7DeliveryAttemptRow.delivery_id == row.id,
                    Hl7DeliveryAttemptRow.outcome == "nak",
                )
            ) or 0  # fmt: skip
        if outcome.kind == "acked":
            values |= {"acked_at": now, "ack": outcome.ack, "last_error": None}
        elif naks >= self.max_naks:
            values |= {
                "rejected_at": now, "ack": outcome.ack,
                "last_error": f"rejected {naks} times, set aside: {outcome.detail}"[:500],
            }  # fmt: skip
            log.error("hl7.delivery_rejected", control_id=row.control_id, naks=naks,
                      subscription_id=row.subscription_id, detail=outcome.detail)  # fmt: skip
        else:
            backoff = min(self.first_backoff * 2 ** (attempt - 1), self.max_backoff)
            values |= {
                "next_attempt_at": now + timedelta(seconds=backoff),
                "last_error": f"{outcome.kind}: {outcome.detail}"[:500],
            }
        conn.execute(update(Hl7DeliveryRow).where(Hl7DeliveryRow.id == row.id).values(**values))
        log.info("hl7.delivery", control_id=row.control_id, attempt=attempt, outcome=outcome.kind)
