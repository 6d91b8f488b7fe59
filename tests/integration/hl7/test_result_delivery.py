"""Outbound ORU^R01 on the real stack (bus -> outbox -> Kafka -> worker hl7-results -> delivery
log -> sender -> MLLP), to a receiver that is down at first, then NAKs, drops the connection and
answers too late: every verified result (and the corrected one) arrives, is applied once, and
nothing is sent again once its ACK was recorded. Every message is checked by HAPI HL7v2."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from datetime import date

import pytest
from sqlalchemy import Engine, select, text

from consumers.base import ConsumerBase
from domains.order.commands import ConfirmOrder, PlaceOrder
from domains.patient.commands import RegisterPatient
from domains.result.commands import AmendResult, EnterResult, InvalidateResult, VerifyResult
from domains.sample.commands import CollectSample, ReceiveSample
from domains.shared.bus import MessageBus
from domains.shared.clock import SystemClock
from infra.bootstrap import build_worker
from infra.config.settings import Settings
from infra.db.interop import Hl7DeliveryAttemptRow, Hl7DeliveryRow
from infra.hl7.delivery import ResultSender
from infra.hl7.er7 import Seg
from infra.hl7.store import InterfaceStore
from tests.integration.hl7.conftest import wait_for
from tests.integration.hl7.receiver import Receiver, free_port
from tests.interop.hapi import HapiValidator

pytestmark = pytest.mark.integration
ORG = "org-out"
TESTS = {"2951-2": "141", "2823-3": "7.1", "2160-0": "0.92", "17861-6": "9.4"}
UNITS = {"2951-2": "mmol/L", "2823-3": "mmol/L", "2160-0": "mg/dL", "17861-6": "mg/dL"}


@pytest.fixture
def worker(stack: Settings, settings: Settings, relay: None) -> Iterator[ConsumerBase]:
    consumer = build_worker(settings, "hl7-results")
    thread = threading.Thread(target=consumer.run, daemon=True)
    thread.start()
    yield consumer
    consumer.stop()
    thread.join(timeout=30)


@pytest.fixture
def sender(engine: Engine) -> Iterator[ResultSender]:
    s = ResultSender(
        engine, SystemClock(), timeout=1.0, first_backoff=0.2, max_backoff=1.0, poll=0.1
    )
    thread = threading.Thread(target=s.run, daemon=True)
    thread.start()
    yield s
    s.stop()
    thread.join(timeout=30)


def verified_results(bus: MessageBus) -> dict[str, str]:
    """Four verified results and one corrected (amended, verified again): loinc -> result id."""

    def send(command: object) -> dict[str, str]:
        return bus.handle(command)  # type: ignore[arg-type]

    patient = send(RegisterPatient(
        organization_id=ORG, user_id="desk", family_name="D'Souza", given_name="Ria",
        date_of_birth=date(1979, 5, 6), sex="female",
    ))["patient_id"]  # fmt: skip
    order = send(PlaceOrder(
        organization_id=ORG, user_id="desk", patient_id=patient, loinc_codes=list(TESTS),
        placer_order_number="EHR-55", ordering_clinician_name="Dr. Menon",
    ))["order_id"]  # fmt: skip
    send(ConfirmOrder(organization_id=ORG, user_id="desk", order_id=order))
    sample = send(CollectSample(
        organization_id=ORG, user_id="phleb", order_id=order, specimen_type="serum"
    ))["sample_id"]  # fmt: skip
    send(ReceiveSample(organization_id=ORG, user_id="tech", sample_id=sample))
    ids = {}
    for code, value in TESTS.items():
        ids[code] = send(EnterResult(
            organization_id=ORG, user_id="tech", sample_id=sample, loinc_code=code,
            value_text=value, unit=UNITS[code],
        ))["result_id"]  # fmt: skip
        send(VerifyResult(organization_id=ORG, user_id="verifier", result_id=ids[code]))
    send(AmendResult(
        organization_id=ORG, user_id="tech2", result_id=ids["2823-3"], value_text="4.1",
        reason="haemolysed sample re-run", unit="mmol/L",
    ))  # fmt: skip
    send(VerifyResult(organization_id=ORG, user_id="verifier", result_id=ids["2823-3"]))
    return ids


def test_every_verified_result_arrives_once_through_a_down_naking_dropping_slow_receiver(
    engine: Engine,
    bus: MessageBus,
    worker: ConsumerBase,
    sender: ResultSender,
    hapi: HapiValidator,
) -> None:
    port = free_port()
    InterfaceStore(engine).subscribe(ORG, "ward-ehr", "127.0.0.1", port, ("EHR", "HOSP"))
    receiver = Receiver(port, script=["nak", "drop", "slow", "nak", "drop"], slow_seconds=1.6)
    verified_results(bus)  # five RESULT_VERIFIED: four values, then a corrected one

    def attempts(outcome: str) -> int:
        with engine.connect() as conn:
            rows = conn.execute(select(Hl7DeliveryAttemptRow.outcome)).scalars().all()
        return sum(o == outcome for o in rows)

    wait_for(lambda: attempts("refused") >= 2, 90)  # nobody listening yet
    receiver.start()
    try:

        def all_acked() -> bool:
            with engine.connect() as conn:
                rows = conn.execute(select(Hl7DeliveryRow.acked_at)).scalars().all()
            return len(rows) == 5 and all(rows)

        wait_for(all_acked, 120)
        settled = len(receiver.receipts)
        time.sleep(2.5)  # the sender keeps polling: an acknowledged message is never sent again
        assert len(receiver.receipts) == settled
    finally:
        receiver.stop()
    with engine.connect() as conn:
        deliveries = conn.execute(select(Hl7DeliveryRow)).all()
        tries = conn.execute(select(Hl7DeliveryAttemptRow)).all()
    assert len(deliveries) == 5  # one per RESULT_VERIFIED and subscriber: a redelivery adds none
    for d in deliveries:
        mine = sorted((t.attempt, t.outcome) for t in tries if t.delivery_id == d.id)
        assert [o for _, o in mine].count("acked") == 1
        assert mine[-1][1] == "acked"  # nothing after the ACK
    assert {"refused", "nak", "dropped", "timeout"} <= {t.outcome for t in tries}
    # what the receiver applied: each control id once, every result, the amendment as C
    assert set(receiver.applied) == {d.control_id for d in deliveries}
    obx = [
        Seg("OBX", next(s for s in m.split("\r") if s.startswith("OBX|")).split("|"))
        for m in receiver.applied.values()
    ]
    seen = sorted((o.get(3), o.get(5) or o.get(5, 2), o.get(11)) for o in obx)
    expected = [(code, value, "F") for code, value in TESTS.items()] + [("2823-3", "4.1", "C")]
    assert seen == sorted(expected)
    hapi.assert_valid({f"oru-{n}.hl7": m for n, m in enumerate(receiver.applied.values())})


def test_a_released_result_that_is_withdrawn_is_posted_again_as_wrong(
    engine: Engine, bus: MessageBus, worker: ConsumerBase, hapi: HapiValidator
) -> None:
    """A receiving system that got the value must be told to stop acting on it: the original
    value goes out again with OBX-11 "W" (post original as wrong). An unreleased value that is
    withdrawn was never sent, so nothing goes out for it."""
    InterfaceStore(engine).subscribe(ORG, "ward-ehr", "127.0.0.1", free_port(), ("EHR", "HOSP"))
    ids = verified_results(bus)
    bus.handle(
        InvalidateResult(
            organization_id=ORG, user_id="pathologist", result_id=ids["2160-0"],
            reason_code="mislabeled_specimen",
        )
    )  # fmt: skip

    def messages() -> list[str]:
        with engine.connect() as conn:
            return list(conn.execute(select(Hl7DeliveryRow.message)).scalars())

    wait_for(lambda: len(messages()) == 6, 90)
    obx = [
        Seg("OBX", next(s for s in m.split("\r") if s.startswith("OBX|")).split("|"))
        for m in messages()
    ]
    withdrawn = [o for o in obx if o.get(11) == "W"]
    assert [(o.get(3), o.get(5)) for o in withdrawn] == [("2160-0", "0.92")]
    hapi.assert_valid({f"oru-{n}.hl7": m for n, m in enumerate(messages())})


def test_a_message_the_receiver_keeps_refusing_is_set_aside_and_the_later_ones_go_out(
    engine: Engine, bus: MessageBus, worker: ConsumerBase
) -> None:
    """Sent in order per subscriber: without a limit, one message the receiver will never
    take would hold back every later result for that system."""
    port = free_port()
    InterfaceStore(engine).subscribe(ORG, "ward-ehr", "127.0.0.1", port, ("EHR", "HOSP"))
    receiver = Receiver(port, script=["nak", "nak", "nak"])
    receiver.start()
    sender = ResultSender(
        engine, SystemClock(), timeout=1.0, first_backoff=0.1, max_backoff=0.2, poll=0.1,
        max_naks=3,
    )  # fmt: skip
    thread = threading.Thread(target=sender.run, daemon=True)
    thread.start()
    try:
        verified_results(bus)

        def done() -> list[Hl7DeliveryRow]:
            with engine.connect() as conn:
                rows = list(conn.execute(select(Hl7DeliveryRow).order_by(Hl7DeliveryRow.seq)))
            finished = [r for r in rows if r.acked_at or r.rejected_at]
            return rows if len(rows) == 5 and len(finished) == 5 else []

        wait_for(lambda: bool(done()), 90)
        deliveries = done()
    finally:
        sender.stop()
        thread.join(timeout=30)
        receiver.stop()
    first, *later = deliveries
    assert first.rejected_at is not None
    assert first.acked_at is None
    assert first.attempts == 3
    assert first.last_error.startswith("rejected 3 times, set aside: AE")
    assert all(d.acked_at is not None and d.rejected_at is None for d in later)
    assert set(receiver.applied) == {d.control_id for d in later}
    assert [a for _, cid, a in receiver.receipts if cid == first.control_id] == ["nak"] * 3


def test_a_slow_receiver_does_not_hold_up_the_events_of_the_lab(
    engine: Engine, bus: MessageBus, worker: ConsumerBase
) -> None:
    """The outbox relay publishes only what committed before the oldest running transaction:
    a sender holding one through a slow exchange would delay every event (a critical value's
    call included) for as long as the receiver takes."""
    port = free_port()
    InterfaceStore(engine).subscribe(ORG, "ward-ehr", "127.0.0.1", port, ("EHR", "HOSP"))
    receiver = Receiver(port, script=["slow"], slow_seconds=6.0)
    receiver.start()
    sender = ResultSender(engine, SystemClock(), timeout=8.0, poll=0.1)
    thread = threading.Thread(target=sender.run, daemon=True)
    thread.start()

    def outbox() -> int:
        with engine.connect() as conn:
            return int(conn.scalar(text("SELECT count(*) FROM outbox")) or 0)

    try:
        verified_results(bus)
        wait_for(lambda: bool(receiver.receipts), 60)  # the first exchange has begun
        exchange_started = time.monotonic()
        bus.handle(
            RegisterPatient(
                organization_id=ORG, user_id="desk", family_name="Rao", given_name="Anil",
                date_of_birth=date(1990, 1, 1), sex="male",
            )
        )  # fmt: skip
        wait_for(lambda: outbox() == 0, 30)
        published_after = time.monotonic() - exchange_started
        still_waiting = not any(action == "ack" for _, _, action in receiver.receipts)
        wait_for(lambda: len(receiver.applied) == 5, 60)  # then every result goes out
    finally:
        sender.stop()
        receiver.stop()
        thread.join(timeout=30)
    assert still_waiting  # the script: the first message is answered after 6 s
    assert published_after < 4.0, f"events waited {published_after:.1f} s for the exchange"
