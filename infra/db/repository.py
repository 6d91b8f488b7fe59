"""One repository for every aggregate: the snapshot in ``data``, lookup fields in columns.

Reads happen when a handler asks; writes only when the unit of work commits (``save``), so a
transaction takes its Postgres transaction id as late as possible (the outbox relay waits for
every transaction older than the rows it publishes, so long write transactions would stall it).
"""

from __future__ import annotations

from datetime import date
from typing import Any

import psycopg
from sqlalchemy import Date, Table, UniqueConstraint
from sqlalchemy.orm import Session

from domains.shared.aggregate import Aggregate
from domains.shared.errors import ConcurrencyConflict, Conflict
from domains.shared.uow import A, AbstractRepository
from infra.db import fastpath
from infra.db.aggregates import TABLE_BY_AGGREGATE_TYPE

_UNIQUE_VIOLATION = "23505"


def table_for(aggregate_class: type[Any], tables: dict[str, Table] | None = None) -> Table:
    tables = TABLE_BY_AGGREGATE_TYPE if tables is None else tables
    try:
        return tables[aggregate_class.aggregate_type]
    except KeyError:
        raise LookupError(f"no table for aggregate type {aggregate_class.aggregate_type}") from None


class SqlRepository(AbstractRepository[A]):
    """Loads, queries and saves aggregates of one class in its table, always within one tenant."""

    def __init__(self, aggregate_class: type[A], session: Session, table: Table) -> None:
        super().__init__(aggregate_class)
        self.session = session
        self.table = table
        missing = set(aggregate_class.lookup_fields) - set(table.c.keys())
        if missing:
            raise LookupError(f"table {table.name} lacks lookup columns {sorted(missing)}")

    @property
    def _conn(self) -> Any:
        """The psycopg connection of the session's transaction (see ``infra.db.fastpath``)."""
        return fastpath.driver(self.session)

    def _add(self, aggregate: A) -> None:
        """Nothing to do yet: a new aggregate (version 0) is inserted by ``save`` at commit."""

    def _get(self, organization_id: str, aggregate_id: str) -> A | None:
        return self._select_one(organization_id, aggregate_id, lock=False)

    def _get_for_update(self, organization_id: str, aggregate_id: str) -> A | None:
        return self._select_one(organization_id, aggregate_id, lock=True)

    def _select_one(self, organization_id: str, aggregate_id: str, *, lock: bool) -> A | None:
        row = self._conn.execute(
            fastpath.select_one_sql(self.table.name, lock=lock),
            {"k_id": aggregate_id, "k_org": organization_id},
        ).fetchone()
        if row is None:
            return None
        return self.aggregate_class.restore(row[0], version=row[1])

    def _list_by(self, organization_id: str, equals: dict[str, Any]) -> list[A]:
        names = tuple(sorted(equals))
        params = {f"k_{n}": _to_column(self.table.c[n].type, equals[n]) for n in names}
        rows = self._conn.execute(
            fastpath.select_by_sql(self.table.name, names), {"k_org": organization_id, **params}
        ).fetchall()
        return [self.aggregate_class.restore(data, version=version) for data, version in rows]

    def save(self, aggregate: A, new_version: int) -> None:
        """Insert a new aggregate, or update one guarded by the version it was loaded at."""
        values = self._row_values(aggregate, new_version)
        names, params = tuple(values), fastpath.row_params(values)
        try:
            if aggregate.version == 0:
                self._conn.execute(fastpath.insert_sql(self.table.name, names), params)
                return
            cursor = self._conn.execute(
                fastpath.update_sql(self.table.name, names),
                {
                    **params,
                    "k_id": aggregate.id,
                    "k_org": aggregate.organization_id,
                    "k_version": aggregate.version,
                },
            )
        except psycopg.IntegrityError as exc:
            if exc.sqlstate != _UNIQUE_VIOLATION:
                raise  # a NOT NULL or similar: a bug in a snapshot, not the user's conflict
            raise self._conflict(exc, aggregate, values) from exc
        if cursor.rowcount == 0:
            raise ConcurrencyConflict(aggregate.aggregate_type, aggregate.id, aggregate.version)

    def _row_values(self, aggregate: A, new_version: int) -> dict[str, Any]:
        snapshot = aggregate.snapshot()
        values: dict[str, Any] = {
            "id": aggregate.id,
            "organization_id": aggregate.organization_id,
            "version": new_version,
            "status": aggregate.status,
            "data": snapshot,
        }
        for name in aggregate.lookup_fields:
            values[name] = _to_column(self.table.c[name].type, snapshot.get(name))
        return values

    def _conflict(
        self, exc: psycopg.IntegrityError, aggregate: A, values: dict[str, Any]
    ) -> Conflict:
        """Name the clashing field, so the API can say what is duplicated."""
        constraint_name = exc.diag.constraint_name
        kind = aggregate.aggregate_type
        for constraint in self.table.constraints:
            if isinstance(constraint, UniqueConstraint) and constraint.name == constraint_name:
                fields = [c.name for c in constraint.columns if c.name != "organization_id"]
                clash = ", ".join(f"{name} {values[name]!r}" for name in fields)
                return Conflict(f"{kind} with {clash} already exists in this organization")
        for index in self.table.indexes:
            if index.unique and index.name == constraint_name:
                # a keyed hash or the like: name the field, never echo the value
                fields = [c.name for c in index.columns if c.name != "organization_id"]
                return Conflict(
                    f"{kind} with the same {', '.join(fields)} already exists in this organization"
                )
        if constraint_name == f"pk_{self.table.name}":
            return Conflict(f"{kind} {aggregate.id} already exists")
        return Conflict(f"{kind} {aggregate.id} duplicates stored data ({constraint_name})")


def hold_unchanged(session: Session, held: list[tuple[Table, Aggregate]]) -> None:
    """Check that aggregates a command read but did not change still have the versions they
    were loaded at, and share-lock their rows until the transaction ends: a writer of such a
    row waits for our commit and then fails its own version check. Raises
    ConcurrencyConflict (the first, in the given order) when another writer changed one since.

    One statement for all of them, one round trip, locking the rows in the given order (the
    unit of work's global lock order)."""
    if not held:
        return
    params: dict[str, str] = {}
    for n, (_, aggregate) in enumerate(held):
        params[f"i{n}"], params[f"o{n}"] = aggregate.id, aggregate.organization_id
    sql = fastpath.hold_sql(fastpath.table_names(table for table, _ in held))
    versions = fastpath.driver(session).execute(sql, params).fetchone()
    for (_, aggregate), version in zip(held, versions, strict=True):
        if version != aggregate.version:
            raise ConcurrencyConflict(aggregate.aggregate_type, aggregate.id, aggregate.version)


def _to_column(column_type: Any, value: Any) -> Any:
    # Snapshots are JSON, so dates arrive as ISO strings; the column wants a real date.
    if isinstance(column_type, Date) and isinstance(value, str):
        return date.fromisoformat(value)
    return value
