"""Ports: the repository and unit of work the handlers use. Adapters live in infra/db (real)
and tests/fakes (in memory); both subclass these."""

from __future__ import annotations

import abc
import hashlib
from dataclasses import dataclass
from types import TracebackType
from typing import Any, Generic, Self, TypeVar

from domains.shared.aggregate import Aggregate
from domains.shared.errors import NotFound
from domains.shared.messages import Command, EventEnvelope, stamp

A = TypeVar("A", bound=Aggregate)
Outcome = dict[str, Any]  # what a command returns: JSON-able (ids, numbers), stored for replays


@dataclass(frozen=True)
class LoggedCommand:
    """A command the command log already holds: its type (so a reused id for another kind of
    command is caught, not answered with a stranger's outcome) and its outcome."""

    command_type: str
    outcome: Outcome
    # the fingerprint of what the command asked for (``AbstractUnitOfWork.fingerprint``); None
    # for commands logged before fingerprints were kept
    payload_hash: str | None = None


class AbstractRepository(abc.ABC, Generic[A]):
    """Loads and adds aggregates of one type; always scoped by organization."""

    def __init__(self, aggregate_class: type[A]) -> None:
        self.aggregate_class = aggregate_class
        self.seen: dict[str, A] = {}

    def add(self, aggregate: A) -> None:
        self._add(aggregate)
        self.seen[aggregate.id] = aggregate

    def get(self, organization_id: str, aggregate_id: str) -> A:
        if aggregate_id in self.seen and self.seen[aggregate_id].organization_id == organization_id:
            return self.seen[aggregate_id]
        aggregate = self._get(organization_id, aggregate_id)
        if aggregate is None:
            raise NotFound(self.aggregate_class.aggregate_type, aggregate_id)
        self.seen[aggregate.id] = aggregate
        return aggregate

    def get_for_update(self, organization_id: str, aggregate_id: str) -> A:
        """Load an aggregate and hold it against every other writer (and every reader that
        checks it at commit) until this transaction ends. For a decision about things that
        hang off the aggregate (the results of a sample): take it before listing them, so a
        new one cannot slip in between the look and the commit."""
        if aggregate_id in self.seen:
            raise RuntimeError("lock an aggregate before anything else loads it")
        aggregate = self._get_for_update(organization_id, aggregate_id)
        if aggregate is None:
            raise NotFound(self.aggregate_class.aggregate_type, aggregate_id)
        self.seen[aggregate.id] = aggregate
        return aggregate

    def find_by(self, organization_id: str, **equals: Any) -> A | None:
        """The one aggregate whose lookup fields equal ``equals`` (e.g. mrn=...), or None."""
        found = self.list_by(organization_id, **equals)
        return found[0] if found else None

    def list_by(self, organization_id: str, **equals: Any) -> list[A]:
        unknown = set(equals) - set(self.aggregate_class.lookup_fields)
        if unknown:
            raise ValueError(f"not lookup fields of {self.aggregate_class.__name__}: {unknown}")
        found = []
        for aggregate in self._list_by(organization_id, equals):
            aggregate = self.seen.setdefault(aggregate.id, aggregate)
            found.append(aggregate)
        return found

    @abc.abstractmethod
    def _add(self, aggregate: A) -> None: ...

    @abc.abstractmethod
    def _get(self, organization_id: str, aggregate_id: str) -> A | None: ...

    def _get_for_update(self, organization_id: str, aggregate_id: str) -> A | None:
        """Adapters with concurrent transactions lock the row here (SELECT ... FOR UPDATE)."""
        return self._get(organization_id, aggregate_id)

    @abc.abstractmethod
    def _list_by(self, organization_id: str, equals: dict[str, Any]) -> list[A]: ...


class AbstractUnitOfWork(abc.ABC):
    """One transaction: the aggregates a command touched, their events (to the outbox) and the
    command's outcome (for idempotent re-sends) are saved together or not at all."""

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.rollback()

    @abc.abstractmethod
    def repository(self, aggregate_class: type[A]) -> AbstractRepository[A]:
        """The repository for one aggregate type, shared for the life of this unit of work."""

    def fingerprint(self, command: Command) -> str:
        """A digest of what ``command`` asks for, kept in the command log: a resend with the
        same body replays the first outcome, another body under the same id is a conflict.
        Adapters that store it next to PHI use a keyed digest (a plain hash of a short payload
        such as an Aadhaar number can be reversed by trying every number)."""
        return hashlib.sha256(command.canonical_payload()).hexdigest()

    @abc.abstractmethod
    def logged_command(self, organization_id: str, command_id: str) -> LoggedCommand | None:
        """The command this organization already sent under this id, or None (scoped, so one
        tenant cannot read another's outcomes by guessing a command id)."""

    def commit(self, command: Command, outcome: Outcome) -> list[EventEnvelope]:
        """Stamp every recorded event with its metadata and save everything in one go.

        A handler decides on everything it loaded, not only on what it changes: CancelOrder
        reads the order's results, VerifyResult reads the result's order. So the aggregates it
        loaded but left unchanged (``read``) are checked too: the adapter confirms at commit
        that each still has the version it was loaded at, and holds it (no one may change it)
        until the transaction ends. Otherwise two such commands, each saving only its own
        aggregate, could both pass (write skew: a cancelled order with a verified result).
        A command that changes nothing needs no check: it cannot break an invariant.
        """
        changed: list[Aggregate] = []
        read: list[Aggregate] = []
        envelopes: list[EventEnvelope] = []
        for aggregate in self._seen():
            if not aggregate.pending_events:
                if aggregate.version > 0:  # a new aggregate without events is never saved
                    read.append(aggregate)
                continue
            changed.append(aggregate)
            for offset, event in enumerate(aggregate.pending_events, start=1):
                envelopes.append(
                    stamp(
                        event,
                        aggregate_id=aggregate.id,
                        aggregate_version=aggregate.version + offset,
                        command=command,
                    )
                )
        self._persist(changed, read if changed else [], envelopes, command, outcome)
        for aggregate in changed:
            aggregate.version += len(aggregate.pending_events)
            aggregate.pending_events.clear()
        return envelopes

    @abc.abstractmethod
    def _seen(self) -> list[Aggregate]: ...

    @abc.abstractmethod
    def _persist(
        self,
        changed: list[Aggregate],
        read: list[Aggregate],
        envelopes: list[EventEnvelope],
        command: Command,
        outcome: Outcome,
    ) -> None:
        """Write changed aggregates (``WHERE version = aggregate.version``), check that each
        ``read`` aggregate still has its version and keep it from changing until the commit
        (raising ConcurrencyConflict, writing nothing, when another writer won either way),
        write the envelopes to the outbox and the command log row; then commit."""

    @abc.abstractmethod
    def rollback(self) -> None: ...
