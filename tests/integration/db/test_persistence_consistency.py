"""Concurrent commands on real Postgres: decisions on stale reads, racing duplicates, reused
command ids and client-supplied ids."""

from __future__ import annotations

import dataclasses
import threading
import time
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import date
from typing import Any, Self

import pytest
from sqlalchemy import Engine, event, text
from sqlalchemy.orm import Session

from domains.order.commands import CancelOrder, ConfirmOrder, PlaceOrder
from domains.patient.commands import RegisterPatient
from domains.result.commands import EnterResult, VerifyResult
from domains.sample.commands import CollectSample, ReceiveSample
from domains.shared.aggregate import Aggregate
from domains.shared.bus import Handler, MessageBus
from domains.shared.errors import ConcurrencyConflict, Conflict
from domains.shared.ids import new_id
from domains.shared.messages import Command, Event, EventEnvelope
from domains.shared.uow import AbstractUnitOfWork, Outcome
from infra.db.engine import make_session_factory
from infra.db.uow import SqlUnitOfWork
from producers.topics import Topics
from schemas.avro_codec import encode

pytestmark = pytest.mark.integration
ORG = "org-a"
POTASSIUM = "2823-3"


def scalar(engine: Engine, sql: str, **params: Any) -> Any:
    with engine.connect() as conn:
        return conn.scalar(text(sql), params)


def sample_on_confirmed_order(bus: MessageBus) -> dict[str, str]:
    patient_id = bus.handle(
        RegisterPatient(
            organization_id=ORG,
            given_name="Anita",
            family_name="Sharma",
            date_of_birth=date(1984, 5, 17),
            sex="female",
        )
    )["patient_id"]
    order_id = bus.handle(
        PlaceOrder(
            organization_id=ORG,
            patient_id=patient_id,
            placer_order_number="HIS-1",
            loinc_codes=[POTASSIUM],
            ordering_clinician_name="Dr Rao",
        )
    )["order_id"]
    bus.handle(ConfirmOrder(organization_id=ORG, order_id=order_id))
    sample_id = bus.handle(
        CollectSample(organization_id=ORG, order_id=order_id, specimen_type="serum")
    )["sample_id"]
    bus.handle(ReceiveSample(organization_id=ORG, sample_id=sample_id))
    return {"order_id": order_id, "sample_id": sample_id}


def enter(sample_id: str) -> EnterResult:
    return EnterResult(
        organization_id=ORG,
        user_id="tech-1",
        sample_id=sample_id,
        loinc_code=POTASSIUM,
        value_text="4.2",
        unit="mmol/L",
    )


def after_reading(handler: Handler, barrier: threading.Barrier, then: threading.Event) -> Handler:
    """The handler, but it waits until both sides have read and decided, then for ``then``."""

    def run(command: Any, uow: AbstractUnitOfWork) -> Outcome:
        outcome = handler(command, uow)
        barrier.wait(timeout=10)
        assert then.wait(timeout=10)
        return outcome

    return run


def bus_pausing_before_commit(bus: MessageBus, engine: Engine, paused: threading.Event) -> Any:
    """A bus whose unit of work stops right before COMMIT (all its writes done, all its locks
    held) until ``go`` is set."""
    factory = make_session_factory(engine)
    go = threading.Event()

    def new_uow() -> SqlUnitOfWork:
        uow = SqlUnitOfWork(factory, encode=encode, topics=Topics())

        @event.listens_for(uow.session, "before_commit")
        def hold(session: Session) -> None:
            paused.set()
            assert go.wait(timeout=10)

        return uow

    return MessageBus(new_uow, bus.handlers), go


def wait_for_a_lock_wait(engine: Engine) -> None:
    query = (
        "SELECT count(*) FROM pg_stat_activity "
        "WHERE datname = current_database() AND wait_event_type = 'Lock'"
    )
    deadline = time.monotonic() + 10
    while scalar(engine, query) == 0:
        assert time.monotonic() < deadline, "the second writer never waited for the first"
        time.sleep(0.02)


@pytest.mark.parametrize("first", ["cancel", "verify"])
def test_a_cancel_and_a_verify_racing_on_one_order_cannot_both_win(
    bus: MessageBus, engine: Engine, first: str
) -> None:
    """Both read (no verified result; order not cancelled) before either commits. The first
    holds its locks just before COMMIT; the second must wait for it, then fail its check."""
    ids = sample_on_confirmed_order(bus)
    result_id = bus.handle(enter(ids["sample_id"]))["result_id"]
    commands: dict[str, Command] = {
        "cancel": CancelOrder(organization_id=ORG, order_id=ids["order_id"], reason="duplicate"),
        "verify": VerifyResult(organization_id=ORG, user_id="path-1", result_id=result_id),
    }
    second = "verify" if first == "cancel" else "cancel"
    first_paused, read, at_once = threading.Event(), threading.Barrier(2), threading.Event()
    at_once.set()
    first_bus, release_first = bus_pausing_before_commit(bus, engine, first_paused)
    second_bus = MessageBus(bus.uow_factory, bus.handlers)
    first_class, second_class = type(commands[first]), type(commands[second])
    first_bus.handlers[first_class] = after_reading(bus.handlers[first_class], read, at_once)
    # the second commits only once the first holds every lock it takes
    second_bus.handlers[second_class] = after_reading(
        bus.handlers[second_class], read, first_paused
    )

    with ThreadPoolExecutor(2) as pool:
        winner: Future[Outcome] = pool.submit(first_bus.handle, commands[first])
        loser: Future[Outcome] = pool.submit(second_bus.handle, commands[second])
        assert first_paused.wait(timeout=10)
        wait_for_a_lock_wait(engine)  # the second writer queues on the first one's row lock
        release_first.set()
        winner.result(timeout=10)
        with pytest.raises(ConcurrencyConflict):
            loser.result(timeout=10)

    order_status = scalar(engine, "SELECT status FROM orders WHERE id = :id", id=ids["order_id"])
    result_status = scalar(engine, "SELECT status FROM results WHERE id = :id", id=result_id)
    assert (order_status == "cancelled", result_status == "verified") == (
        first == "cancel",
        first == "verify",
    )


def test_a_free_race_of_cancel_and_verify_has_one_winner_and_no_deadlock(
    bus: MessageBus, engine: Engine
) -> None:
    ids = sample_on_confirmed_order(bus)
    result_id = bus.handle(enter(ids["sample_id"]))["result_id"]
    go, read = threading.Event(), threading.Barrier(2)
    go.set()
    racing = MessageBus(bus.uow_factory, bus.handlers)
    for command_class in (CancelOrder, VerifyResult):
        racing.handlers[command_class] = after_reading(bus.handlers[command_class], read, go)
    with ThreadPoolExecutor(2) as pool:
        futures = [
            pool.submit(racing.handle, c)
            for c in (
                CancelOrder(organization_id=ORG, order_id=ids["order_id"], reason="duplicate"),
                VerifyResult(organization_id=ORG, user_id="path-1", result_id=result_id),
            )
        ]
        errors = [f.exception(timeout=20) for f in futures]
    assert sorted(type(e).__name__ for e in errors) == ["ConcurrencyConflict", "NoneType"]


def test_two_racing_entries_of_one_test_on_one_sample_store_one_result(
    bus: MessageBus, engine: Engine
) -> None:
    ids = sample_on_confirmed_order(bus)
    go, read = threading.Event(), threading.Barrier(2)
    go.set()
    racing = MessageBus(bus.uow_factory, bus.handlers)
    racing.handlers[EnterResult] = after_reading(bus.handlers[EnterResult], read, go)
    with ThreadPoolExecutor(2) as pool:
        futures = [pool.submit(racing.handle, enter(ids["sample_id"])) for _ in range(2)]
        errors = [f.exception(timeout=20) for f in futures]
    (conflict,) = [e for e in errors if e is not None]
    assert isinstance(conflict, Conflict)
    assert f"sample_id '{ids['sample_id']}', loinc_code '{POTASSIUM}' already exists" in str(
        conflict
    )
    assert scalar(engine, "SELECT count(*) FROM results") == 1
    published = "SELECT count(DISTINCT aggregate_id) FROM outbox WHERE aggregate_type = 'Result'"
    assert scalar(engine, published) == 1


class OneReportPerOrder(Aggregate):
    """Borrows the reports table (tables are found by aggregate_type), so this test of the
    constraint does not depend on what it takes to generate a real report."""

    aggregate_type = "Report"
    lookup_fields = ("order_id",)

    def __init__(self, *, order_id: str, **base: Any) -> None:
        super().__init__(**base)
        self.order_id = order_id

    def snapshot(self) -> dict[str, Any]:
        return {"id": self.id, "organization_id": self.organization_id, "order_id": self.order_id}

    @classmethod
    def restore(cls, snapshot: dict[str, Any], *, version: int) -> Self:
        return cls(**snapshot, status="generated", version=version)


def test_two_reports_generated_at_once_for_one_order_store_one(engine: Engine) -> None:
    factory = make_session_factory(engine)
    generate = CancelOrder(organization_id=ORG, order_id="o-1", reason="any command will do")

    def fake_encode(envelope: EventEnvelope) -> tuple[str, bytes]:
        return "test.Event", b""

    with (
        SqlUnitOfWork(factory, encode=fake_encode, topics=Topics()) as one,
        SqlUnitOfWork(factory, encode=fake_encode, topics=Topics()) as two,
    ):
        for uow in (one, two):  # both look first and find nothing
            reports = uow.repository(OneReportPerOrder)
            assert reports.find_by(ORG, order_id="o-1") is None
            report = OneReportPerOrder(
                id=new_id(), organization_id=ORG, status="generated", order_id="o-1"
            )
            report._record(Generated())
            reports.add(report)
        one.commit(generate, {})
        with pytest.raises(Conflict, match="Report with order_id 'o-1' already exists"):
            two.commit(dataclasses.replace(generate, command_id=new_id()), {})
    assert scalar(engine, "SELECT count(*) FROM reports") == 1


@dataclass(frozen=True, kw_only=True)
class Generated(Event):
    event_type = "REPORT_GENERATED"
    aggregate_type = "Report"


def test_a_command_id_reused_for_another_command_type_is_a_conflict_and_writes_nothing(
    bus: MessageBus, engine: Engine
) -> None:
    ids = sample_on_confirmed_order(bus)
    result_id = bus.handle(enter(ids["sample_id"]))["result_id"]
    bus.handle(
        VerifyResult(organization_id=ORG, user_id="path-1", result_id=result_id, command_id="c-1")
    )
    before = scalar(engine, "SELECT count(*) FROM outbox")
    reuse = CancelOrder(organization_id=ORG, order_id=ids["order_id"], reason="x", command_id="c-1")
    with pytest.raises(Conflict, match="command id c-1 was already used for VerifyResult"):
        bus.handle(reuse)
    assert scalar(engine, "SELECT count(*) FROM outbox") == before
    assert scalar(engine, "SELECT command_type FROM command_log WHERE command_id = 'c-1'") == (
        "VerifyResult"
    )


def test_long_non_uuid_client_ids_are_stored_whole(bus: MessageBus, engine: Engine) -> None:
    correlation = "web:" + "r" * 124  # 128 characters, not a UUID
    causation = "upstream/" + "e" * 119
    command_id = "idem-" + "k" * 123
    bus.handle(
        RegisterPatient(
            organization_id=ORG,
            given_name="Ravi",
            family_name="Das",
            date_of_birth=date(1990, 1, 1),
            sex="male",
            command_id=command_id,
            correlation_id=correlation,
            causation_id=causation,
        )
    )
    row = scalar(
        engine,
        "SELECT correlation_id || ' ' || causation_id FROM command_log WHERE command_id = :c",
        c=command_id,
    )
    assert row == f"{correlation} {causation}"
    assert scalar(engine, "SELECT headers->>'correlation_id' FROM outbox") == correlation
