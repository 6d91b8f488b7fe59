"""One repository for every aggregate: the snapshot in ``data``, lookup fields in columns.

Reads happen when a handler asks; writes only when the unit of work commits (``save``), so a
transaction takes its Postgres transaction id as late as possible (the outbox relay waits for
every transaction older than the rows it publishes, so long write transactions would stall it).
"""

from __future__ import annotations

from datetime import date
from typing import Any, cast

from sqlalchemy import ColumnElement, CursorResult, Date, Table, UniqueConstraint, func, select
from sqlalchemy import insert as sql_insert
from sqlalchemy import update as sql_update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from domains.shared.errors import ConcurrencyConflict, Conflict
from domains.shared.uow import A, AbstractRepository
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

    def _add(self, aggregate: A) -> None:
        """Nothing to do yet: a new aggregate (version 0) is inserted by ``save`` at commit."""

    def _get(self, organization_id: str, aggregate_id: str) -> A | None:
        return self._select_one(organization_id, aggregate_id, lock=False)

    def _get_for_update(self, organization_id: str, aggregate_id: str) -> A | None:
        return self._select_one(organization_id, aggregate_id, lock=True)

    def _select_one(self, organization_id: str, aggregate_id: str, *, lock: bool) -> A | None:
        query = select(self.table.c.data, self.table.c.version).where(
            self.table.c.id == aggregate_id,
            self.table.c.organization_id == organization_id,
        )
        if lock:
            query = query.with_for_update()
        row = self.session.execute(query).one_or_none()
        if row is None:
            return None
        return self.aggregate_class.restore(row.data, version=row.version)

    def _list_by(self, organization_id: str, equals: dict[str, Any]) -> list[A]:
        conditions: list[ColumnElement[bool]] = [self.table.c.organization_id == organization_id]
        for name, value in equals.items():
            column = self.table.c[name]
            conditions.append(column == _to_column(column.type, value))
        rows = self.session.execute(
            select(self.table.c.data, self.table.c.version)
            .where(*conditions)
            .order_by(self.table.c.created_at, self.table.c.id)
        ).all()
        return [self.aggregate_class.restore(row.data, version=row.version) for row in rows]

    def save(self, aggregate: A, new_version: int) -> None:
        """Insert a new aggregate, or update one guarded by the version it was loaded at."""
        values = self._row_values(aggregate, new_version)
        try:
            if aggregate.version == 0:
                self.session.execute(sql_insert(self.table).values(**values))
                return
            result = self.session.execute(
                sql_update(self.table)
                .where(
                    self.table.c.id == aggregate.id,
                    self.table.c.organization_id == aggregate.organization_id,
                    self.table.c.version == aggregate.version,
                )
                .values(**values, updated_at=func.now())
            )
        except IntegrityError as exc:
            if getattr(exc.orig, "sqlstate", None) != _UNIQUE_VIOLATION:
                raise  # a NOT NULL or similar: a bug in a snapshot, not the user's conflict
            raise self._conflict(exc, aggregate, values) from exc
        if cast(CursorResult[Any], result).rowcount == 0:
            raise ConcurrencyConflict(aggregate.aggregate_type, aggregate.id, aggregate.version)

    def hold_unchanged(self, aggregate: A) -> None:
        """Check that an aggregate the command read but did not change still has the version
        it was loaded at, and share-lock its row until the transaction ends: a writer of that
        row waits for our commit and then fails its own version check. Raises
        ConcurrencyConflict when another writer changed it since we read it."""
        version = self.session.scalar(
            select(self.table.c.version)
            .where(
                self.table.c.id == aggregate.id,
                self.table.c.organization_id == aggregate.organization_id,
            )
            .with_for_update(read=True)
        )
        if version != aggregate.version:
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

    def _conflict(self, exc: IntegrityError, aggregate: A, values: dict[str, Any]) -> Conflict:
        """Name the clashing field, so the API can say what is duplicated."""
        constraint_name = getattr(getattr(exc.orig, "diag", None), "constraint_name", None)
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


def _to_column(column_type: Any, value: Any) -> Any:
    # Snapshots are JSON, so dates arrive as ISO strings; the column wants a real date.
    if isinstance(column_type, Date) and isinstance(value, str):
        return date.fromisoformat(value)
    return value
