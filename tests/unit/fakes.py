"""In-memory adapters for the domain ports. They subclass the ports, so a fake that drifts from
the contract fails mypy, not a test run months later."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, date, datetime, timedelta
from typing import Any, TypeVar

from cryptography.fernet import Fernet

from domains.catalog.model import Catalog, load_catalog
from domains.handlers import command_handlers
from domains.patient.identifiers import mrn_from_sequence
from domains.patient.ports import AadhaarVault, IdentifierIndex, MrnSource, PatientKeyring
from domains.payment.tariff import Tariff
from domains.sample.ports import AccessionSource, accession_number
from domains.shared.aggregate import Aggregate
from domains.shared.bus import MessageBus
from domains.shared.clock import Clock
from domains.shared.errors import ConcurrencyConflict, Conflict
from domains.shared.messages import Command, Event, EventEnvelope
from domains.shared.policy import LabPolicy, StaticPolicies
from domains.shared.uow import AbstractRepository, AbstractUnitOfWork, LoggedCommand, Outcome

A = TypeVar("A", bound=Aggregate)
E = TypeVar("E", bound=Event)
Row = tuple[str, dict[str, Any], int]  # organization_id, snapshot, version


class FakeRepository(AbstractRepository[A]):
    """Reads committed snapshots and rebuilds aggregates with ``restore``, as the SQL one does,
    so every test also proves that snapshot/restore round-trips."""

    def __init__(self, aggregate_class: type[A], rows: dict[str, Row]) -> None:
        super().__init__(aggregate_class)
        self.rows = rows

    def _add(self, aggregate: A) -> None:
        pass  # written by the unit of work on commit, like an INSERT in the transaction

    def _get(self, organization_id: str, aggregate_id: str) -> A | None:
        row = self.rows.get(aggregate_id)
        if row is None or row[0] != organization_id:
            return None
        return self.aggregate_class.restore(row[1], version=row[2])

    def _list_by(self, organization_id: str, equals: dict[str, Any]) -> list[A]:
        found = [
            self.aggregate_class.restore(snapshot, version=version)
            for org, snapshot, version in self.rows.values()
            if org == organization_id and all(snapshot.get(k) == v for k, v in equals.items())
        ]
        # aggregates added in this transaction are visible to it, as in SQL after a flush
        found += [
            a
            for a in self.seen.values()
            if a.id not in self.rows
            and a.organization_id == organization_id
            and all(a.snapshot().get(k) == v for k, v in equals.items())
        ]
        return found


class FakeUnitOfWork(AbstractUnitOfWork):
    """One instance is the whole "database"; each ``with uow:`` is a fresh transaction."""

    def __init__(self) -> None:
        self.tables: dict[str, dict[str, Row]] = {}
        self.committed: list[EventEnvelope] = []
        self.commands: dict[tuple[str, str], LoggedCommand] = {}
        self._repositories: dict[type[Aggregate], AbstractRepository[Any]] = {}

    def __enter__(self) -> FakeUnitOfWork:
        self._repositories = {}
        return self

    def repository(self, aggregate_class: type[A]) -> AbstractRepository[A]:
        if aggregate_class not in self._repositories:
            table = self.tables.setdefault(aggregate_class.aggregate_type, {})
            self._repositories[aggregate_class] = FakeRepository(aggregate_class, table)
        repository: AbstractRepository[A] = self._repositories[aggregate_class]
        return repository

    def logged_command(self, organization_id: str, command_id: str) -> LoggedCommand | None:
        return self.commands.get((organization_id, command_id))

    def _seen(self) -> list[Aggregate]:
        return [a for repo in self._repositories.values() for a in repo.seen.values()]

    def _persist(
        self,
        changed: list[Aggregate],
        read: list[Aggregate],
        envelopes: list[EventEnvelope],
        command: Command,
        outcome: Outcome,
    ) -> None:
        # Check everything first: all or nothing. Aggregates only read are checked like the
        # changed ones (the SQL adapter's share lock); commits here are atomic, so no lock.
        for aggregate in changed + read:
            row = self.tables.get(aggregate.aggregate_type, {}).get(aggregate.id)
            if (row[2] if row else 0) != aggregate.version:
                raise ConcurrencyConflict(aggregate.aggregate_type, aggregate.id, aggregate.version)
        for aggregate in changed:
            snapshot = json.loads(json.dumps(aggregate.snapshot()))  # proves it is JSON-able
            for key in aggregate.lookup_fields:
                assert snapshot[key] is None or isinstance(snapshot[key], str), key
            self.tables.setdefault(aggregate.aggregate_type, {})[aggregate.id] = (
                aggregate.organization_id,
                snapshot,
                aggregate.version + len(aggregate.pending_events),
            )
        self.committed.extend(envelopes)
        self.commands[(command.organization_id, command.command_id)] = LoggedCommand(
            command.command_type, json.loads(json.dumps(outcome)), self.fingerprint(command)
        )

    def rollback(self) -> None:
        self._repositories = {}

    def fork(self) -> FakeUnitOfWork:
        """A second connection to the same "database", for concurrent-writer tests."""
        other = FakeUnitOfWork()
        other.tables, other.committed, other.commands = self.tables, self.committed, self.commands
        return other

    # -- assertion helpers --
    def events(self, event_type: type[E]) -> list[E]:
        return [e.event for e in self.committed if isinstance(e.event, event_type)]

    def event_types(self) -> list[str]:
        return [e.metadata.event_type for e in self.committed]


class FakeVault(AadhaarVault):
    """Reversible but visibly not plain text, so a test can tell a token from a number."""

    def encrypt(self, plain: str) -> str:
        return "vault:" + plain[::-1]

    def decrypt(self, token: str) -> str:
        return token.removeprefix("vault:")[::-1]


class FakeIndex(IdentifierIndex):
    """Deterministic and visibly not the value (a real index is a keyed hash)."""

    def blind_index(self, kind: str, value: str) -> str:
        return f"idx:{kind}:" + hashlib.sha256(value.encode()).hexdigest()[:16]


class FakeKeyring(PatientKeyring):
    """Real per-patient Fernet keys, in memory; shredding forgets one."""

    def __init__(self) -> None:
        self.keys: dict[tuple[str, str], Fernet | None] = {}

    def seal(self, organization_id: str, patient_id: str, plaintext: bytes) -> str:
        key = self.keys.setdefault((organization_id, patient_id), Fernet(Fernet.generate_key()))
        if key is None:
            raise Conflict(f"patient {patient_id} was erased")
        return key.encrypt(plaintext).decode()

    def open(self, organization_id: str, patient_id: str, token: str) -> bytes | None:
        key = self.keys.get((organization_id, patient_id))
        return key.decrypt(token.encode()) if key else None

    def shred(self, organization_id: str, patient_id: str) -> bool:
        had = self.keys.get((organization_id, patient_id)) is not None
        self.keys[(organization_id, patient_id)] = None
        return had


class FakeMrnSource(MrnSource):
    def __init__(self) -> None:
        self.sequences: dict[str, int] = {}

    def next_mrn(self, organization_id: str) -> str:
        self.sequences[organization_id] = self.sequences.get(organization_id, 0) + 1
        return mrn_from_sequence(self.sequences[organization_id])


class FakeAccessionSource(AccessionSource):
    def __init__(self) -> None:
        self.sequences: dict[tuple[str, date], int] = {}

    def next_accession(self, organization_id: str, on: date) -> str:
        key = (organization_id, on)
        self.sequences[key] = self.sequences.get(key, 0) + 1
        return accession_number(on, self.sequences[key])


class FakeClock(Clock):
    def __init__(self, start: datetime = datetime(2024, 6, 15, 4, 30, tzinfo=UTC)) -> None:
        self.current = start

    def now(self) -> datetime:
        return self.current

    def today(self) -> date:
        return self.current.date()  # UTC's day; handlers use the lab's (local_date)

    def advance(self, **delta: float) -> datetime:
        self.current += timedelta(**delta)
        return self.current


_CATALOG: list[Catalog] = []


def shared_catalog() -> Catalog:
    """The real catalog.yaml, parsed once per test session."""
    if not _CATALOG:
        _CATALOG.append(load_catalog())
    return _CATALOG[0]


class FakeApp:
    """The real MessageBus and handler table, wired with fakes: what a unit test drives."""

    def __init__(
        self,
        *,
        policy: LabPolicy | None = None,
        catalog: Catalog | None = None,
        tariff: Tariff | None = None,
    ) -> None:
        self.uow = FakeUnitOfWork()
        self.clock = FakeClock()
        self.vault = FakeVault()
        self.index = FakeIndex()
        self.keyring = FakeKeyring()
        self.mrns = FakeMrnSource()
        self.accessions = FakeAccessionSource()
        self.policies = StaticPolicies(policy or LabPolicy())
        self.tariff = tariff
        self.use_catalog(catalog or shared_catalog())

    def use_catalog(self, catalog: Catalog) -> None:
        """(Re)wire the bus with this catalog and the same fakes: a lab loading a new version."""
        self.catalog = catalog
        self.bus = MessageBus(
            lambda: self.uow,
            command_handlers(
                catalog=catalog,
                aadhaar_vault=self.vault,
                identifier_index=self.index,
                patient_keys=self.keyring,
                mrn_source=self.mrns,
                accession_source=self.accessions,
                clock=self.clock,
                policies=self.policies,
                tariff=self.tariff,
            ),
        )

    def handle(self, command: Command) -> Outcome:
        return self.bus.handle(command)

    def load(self, aggregate_class: type[A], aggregate_id: str, org: str = "org-1") -> A:
        with self.uow as uow:
            return uow.repository(aggregate_class).get(org, aggregate_id)
