"""The generic persistence machinery on real Postgres, with a small aggregate of the tests' own.

``Person`` borrows the patients table (repositories find tables by ``aggregate_type``), so these
tests hold whatever the real domain models do.
"""

from __future__ import annotations

import json
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, Self

import pytest
from sqlalchemy import Engine, func, select

from domains.shared.aggregate import Aggregate
from domains.shared.bus import MessageBus
from domains.shared.errors import ConcurrencyConflict, Conflict, NotFound
from domains.shared.ids import new_id
from domains.shared.messages import Command, Event, EventEnvelope
from domains.shared.uow import AbstractUnitOfWork, Outcome
from infra.db.engine import make_session_factory
from infra.db.messaging import CommandLogRow, OutboxRow
from infra.db.uow import SqlUnitOfWork
from producers.topics import Topics

pytestmark = pytest.mark.integration
ORG, OTHER_ORG = "org-a", "org-b"


@dataclass(frozen=True, kw_only=True)
class Named(Event):
    event_type = "PATIENT_UPDATED"
    aggregate_type = "Patient"

    name: str


class Person(Aggregate):
    aggregate_type = "Patient"
    lookup_fields = ("mrn", "family_name", "date_of_birth")

    def __init__(self, *, mrn: str, family_name: str, dob: str, **base: Any) -> None:
        super().__init__(**base)
        self.mrn, self.family_name, self.dob = mrn, family_name, dob

    @classmethod
    def register(cls, organization_id: str, mrn: str, family_name: str) -> Self:
        person = cls(
            id=new_id(),
            organization_id=organization_id,
            status="active",
            mrn=mrn,
            family_name=family_name,
            dob="1980-02-29",
        )
        person._record(Named(name=family_name))
        return person

    def rename(self, family_name: str) -> None:
        self.family_name = family_name
        self._record(Named(name=family_name))

    def snapshot(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "organization_id": self.organization_id,
            "status": self.status,
            "mrn": self.mrn,
            "family_name": self.family_name,
            "date_of_birth": self.dob,
        }

    @classmethod
    def restore(cls, snapshot: dict[str, Any], *, version: int) -> Self:
        return cls(
            id=snapshot["id"],
            organization_id=snapshot["organization_id"],
            status=snapshot["status"],
            version=version,
            mrn=snapshot["mrn"],
            family_name=snapshot["family_name"],
            dob=snapshot["date_of_birth"],
        )


@dataclass(frozen=True, kw_only=True)
class RegisterPerson(Command):
    mrn: str


def fake_encode(envelope: EventEnvelope) -> tuple[str, bytes]:
    return f"test.{type(envelope.event).__name__}", json.dumps(envelope.event.payload()).encode()


@pytest.fixture
def new_uow(engine: Engine) -> Any:
    factory = make_session_factory(engine)
    return lambda: SqlUnitOfWork(factory, encode=fake_encode, topics=Topics())


def count(engine: Engine, row: Any) -> int:
    with engine.connect() as conn:
        return int(conn.scalar(select(func.count()).select_from(row)) or 0)


def save_new(new_uow: Any, mrn: str = "MRN-1", org: str = ORG) -> Person:
    with new_uow() as uow:
        person = Person.register(org, mrn, "Sharma")
        uow.repository(Person).add(person)
        uow.commit(RegisterPerson(organization_id=org, mrn=mrn), {"id": person.id})
    return person


def test_a_new_aggregate_is_saved_with_its_events_in_the_outbox(
    new_uow: Any, engine: Engine
) -> None:
    person = save_new(new_uow)
    with new_uow() as uow:
        loaded = uow.repository(Person).get(ORG, person.id)
        assert (loaded.version, loaded.family_name) == (1, "Sharma")
        assert uow.repository(Person).find_by(ORG, date_of_birth="1980-02-29") is not None
    with engine.connect() as conn:
        row = conn.execute(select(OutboxRow)).one()
    assert (row.topic, row.key, row.aggregate_version) == ("lis.patient.events", person.id, 1)
    assert set(row.headers) == {"event_type", "event_id", "correlation_id", "causation_id"}
    assert row.schema_name == "test.Named"


def test_of_two_concurrent_writers_the_second_gets_a_conflict_and_writes_nothing(
    new_uow: Any, engine: Engine
) -> None:
    person = save_new(new_uow)
    with new_uow() as first, new_uow() as second:
        mine, theirs = (u.repository(Person).get(ORG, person.id) for u in (first, second))
        mine.rename("Verma")
        theirs.rename("Gupta")
        first.commit(RegisterPerson(organization_id=ORG, mrn="x"), {})
        with pytest.raises(ConcurrencyConflict):
            second.commit(RegisterPerson(organization_id=ORG, mrn="x"), {})
    with new_uow() as uow:
        stored = uow.repository(Person).get(ORG, person.id)
    assert (stored.version, stored.family_name) == (2, "Verma")
    assert count(engine, OutboxRow) == 2
    assert count(engine, CommandLogRow) == 2


def test_a_raced_duplicate_mrn_is_a_conflict_naming_the_field(new_uow: Any, engine: Engine) -> None:
    save_new(new_uow, mrn="MRN-7")
    with pytest.raises(Conflict, match="mrn 'MRN-7' already exists"):
        save_new(new_uow, mrn="MRN-7")
    assert count(engine, OutboxRow) == 1
    save_new(new_uow, mrn="MRN-7", org=OTHER_ORG)  # unique within an organization only


def test_another_organization_cannot_load_or_find_the_aggregate(new_uow: Any) -> None:
    person = save_new(new_uow)
    with new_uow() as uow, pytest.raises(NotFound):
        uow.repository(Person).get(OTHER_ORG, person.id)
    with new_uow() as uow:
        assert uow.repository(Person).list_by(OTHER_ORG, mrn="MRN-1") == []


def register_handler(barrier: threading.Barrier | None = None) -> Any:
    def handle(command: RegisterPerson, uow: AbstractUnitOfWork) -> Outcome:
        person = Person.register(command.organization_id, new_id()[:8], "Rao")
        uow.repository(Person).add(person)
        if barrier is not None:
            # both sends are past the command-log check before either commits
            barrier.wait(timeout=10)
        return {"patient_id": person.id}

    return handle


def test_the_same_command_sent_twice_has_one_effect_and_one_outcome(
    new_uow: Any, engine: Engine
) -> None:
    bus = MessageBus(new_uow, {RegisterPerson: register_handler()})
    command = RegisterPerson(organization_id=ORG, mrn="ignored")
    assert bus.handle(command) == bus.handle(command)
    assert count(engine, OutboxRow) == 1


def test_the_same_command_sent_concurrently_has_one_effect_and_one_outcome(
    new_uow: Any, engine: Engine
) -> None:
    bus = MessageBus(new_uow, {RegisterPerson: register_handler(threading.Barrier(2))})
    command = RegisterPerson(organization_id=ORG, mrn="ignored")
    with ThreadPoolExecutor(2) as pool:
        first, second = pool.map(bus.handle, [command, command])
    assert first == second
    assert count(engine, OutboxRow) == 1
    assert count(engine, CommandLogRow) == 1


@dataclass(frozen=True, kw_only=True)
class RenamePerson(Command):
    person_id: str
    family_name: str


def test_a_concurrent_duplicate_the_domain_refuses_still_gets_the_first_outcome(
    engine: Engine,
) -> None:
    """The second send passed the command-log check before the first committed, then saw the
    first one's effect and refused; the bus answers with the first outcome, not the refusal."""
    factory = make_session_factory(engine)
    committed, entered, turns = threading.Event(), threading.Barrier(2), iter(range(2))

    class SignallingUnitOfWork(SqlUnitOfWork):
        def _persist(self, *args: Any) -> None:
            super()._persist(*args)
            committed.set()

    def rename(command: RenamePerson, uow: AbstractUnitOfWork) -> Outcome:
        entered.wait(timeout=10)
        if next(turns) == 1:
            committed.wait(timeout=10)
        person = uow.repository(Person).get(command.organization_id, command.person_id)
        if person.family_name == command.family_name:
            raise Conflict("already renamed")
        person.rename(command.family_name)
        return {"version": person.version + 1}

    def new_uow() -> SqlUnitOfWork:
        return SignallingUnitOfWork(factory, encode=fake_encode, topics=Topics())

    person = save_new(new_uow)
    committed.clear()
    bus = MessageBus(new_uow, {RenamePerson: rename})
    command = RenamePerson(organization_id=ORG, person_id=person.id, family_name="Iyer")
    with ThreadPoolExecutor(2) as pool:
        outcomes = list(pool.map(bus.handle, [command, command]))
    assert outcomes == [{"version": 2}, {"version": 2}]
    assert count(engine, OutboxRow) == 2
