"""The Postgres unit of work: aggregates, outbox rows and the command log in one transaction."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from types import TracebackType
from typing import Any, cast

from sqlalchemy import Table
from sqlalchemy.orm import Session, sessionmaker

from domains.shared.aggregate import Aggregate
from domains.shared.bus import DuplicateCommand
from domains.shared.messages import Command, EventEnvelope
from domains.shared.uow import (
    A,
    AbstractRepository,
    AbstractUnitOfWork,
    LoggedCommand,
    Outcome,
)
from infra.db import fastpath
from infra.db.aggregates import TABLE_BY_AGGREGATE_TYPE
from infra.db.repository import SqlRepository, hold_unchanged, table_for
from producers.topics import Topics
from schemas.fingerprints import writer_fingerprint

# envelope -> (Avro record full name, schemaless Avro binary): schemas.avro_codec.encode
Encoder = Callable[[EventEnvelope], tuple[str, bytes]]


class SqlUnitOfWork(AbstractUnitOfWork):
    """One SQLAlchemy session per unit of work; opened on first use, closed on exit."""

    def __init__(
        self,
        session_factory: sessionmaker[Session],
        *,
        encode: Encoder,
        topics: Topics,
        tables: Mapping[str, Table] = TABLE_BY_AGGREGATE_TYPE,
        payload_digest: Callable[[bytes], str] | None = None,
    ) -> None:
        self._session_factory = session_factory
        # keyed (HMAC) in production: the command log sits beside the PHI the payloads carry
        self._payload_digest = payload_digest
        self._encode = encode
        self._topics = topics
        self._tables = dict(tables)
        self._session: Session | None = None
        self._repositories: dict[type[Aggregate], SqlRepository[Any]] = {}

    @property
    def session(self) -> Session:
        if self._session is None:
            self._session = self._session_factory()
        return self._session

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        try:
            super().__exit__(exc_type, exc, tb)
        finally:
            if self._session is not None:
                self._session.close()
            self._session = None
            self._repositories = {}

    def repository(self, aggregate_class: type[A]) -> AbstractRepository[A]:
        repository = self._repositories.get(aggregate_class)
        if repository is None:
            table = table_for(aggregate_class, self._tables)
            repository = SqlRepository(aggregate_class, self.session, table)
            self._repositories[aggregate_class] = repository
        return cast(AbstractRepository[A], repository)

    def fingerprint(self, command: Command) -> str:
        if self._payload_digest is None:
            return super().fingerprint(command)
        return self._payload_digest(command.canonical_payload())

    def logged_command(self, organization_id: str, command_id: str) -> LoggedCommand | None:
        row = (
            fastpath.driver(self.session)
            .execute(fastpath.LOGGED_SQL, {"k_command": command_id, "k_org": organization_id})
            .fetchone()
        )
        return None if row is None else LoggedCommand(row[0], dict(row[1]), row[2])

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
        # Encode before the first write: a failure here costs no transaction id and no locks.
        outbox_rows = [self._outbox_row(envelope) for envelope in envelopes]
        session = self.session
        # plain SQL on the session's psycopg connection: see infra.db.fastpath for why
        conn = fastpath.driver(session)
        # The command log goes first. A concurrent send of the same command then waits here on
        # the primary key until the first one commits and finds its row, instead of failing
        # later on something less telling (a version conflict, a duplicate MRN).
        logged = conn.execute(
            fastpath.LOG_COMMAND_SQL,
            fastpath.row_params(
                {
                    "command_id": command.command_id,
                    "organization_id": command.organization_id,
                    "command_type": command.command_type,
                    "correlation_id": command.correlation_id,
                    "causation_id": command.causation_id,
                    "user_id": command.user_id,
                    "outcome": outcome,
                    "payload_hash": self.fingerprint(command),
                }
            ),
        ).fetchone()
        if logged is None:
            session.rollback()
            raise DuplicateCommand(command.command_id)
        owners = {id(a): repo for repo in self._repositories.values() for a in repo.seen.values()}
        # Every transaction locks rows in one global order (type, id): CancelOrder (writes the
        # order, share-locks its results) and VerifyResult (writes the result, share-locks its
        # order) then queue on the first row they share instead of deadlocking, and the one
        # that waited fails its version check once the other commits. Runs of rows only read
        # are checked and share-locked in one statement (one round trip, same order); new
        # rows go last: an INSERT holds no row another transaction could be waiting for.
        held: list[tuple[Table, Aggregate]] = []
        inserted: list[Aggregate] = []
        for aggregate in sorted(changed + read, key=lambda a: (a.aggregate_type, a.id)):
            if not aggregate.pending_events:
                held.append((owners[id(aggregate)].table, aggregate))
            elif aggregate.version == 0:
                inserted.append(aggregate)
            else:
                hold_unchanged(session, held)
                held = []
                owners[id(aggregate)].save(aggregate, self._new_version(aggregate))
        hold_unchanged(session, held)
        for aggregate in inserted:
            owners[id(aggregate)].save(aggregate, self._new_version(aggregate))
        fastpath.insert_outbox(conn, outbox_rows)
        session.commit()

    @staticmethod
    def _new_version(aggregate: Aggregate) -> int:
        return aggregate.version + len(aggregate.pending_events)

    def _outbox_row(self, envelope: EventEnvelope) -> dict[str, Any]:
        meta = envelope.metadata
        schema_name, payload = self._encode(envelope)
        return {
            "event_id": meta.event_id,
            "organization_id": meta.organization_id,
            "aggregate_type": meta.aggregate_type,
            "aggregate_id": meta.aggregate_id,
            "aggregate_version": meta.aggregate_version,
            "event_type": meta.event_type,
            "topic": self._topics.for_aggregate(meta.aggregate_type),
            "key": meta.aggregate_id,
            "headers": {
                "event_type": meta.event_type,
                "event_id": meta.event_id,
                "correlation_id": meta.correlation_id,
                "causation_id": meta.causation_id,
            },
            "schema_name": schema_name,
            "payload": payload,
            # Which schema these bytes were written with: the relay frames with its id.
            "schema_fingerprint": writer_fingerprint(self._encode, schema_name),
        }

    def rollback(self) -> None:
        if self._session is not None:
            self._session.rollback()
