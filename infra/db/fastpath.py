"""The unit of work's hot statements as plain SQL on the psycopg connection under the session.

Why: profiling a command through the bus (``lis bench api``) showed SQLAlchemy's per-statement
work (building the statement, the ORM layer of ``Session.execute``, result processing) costing
more CPU than the database round trips: ~0.25 ms CPU per statement against ~0.1 ms for the same
statement through psycopg, about ten statements per command. The SQL is built once per table
(and column set), from the table definitions, never from input; psycopg prepares statements it
sees repeatedly on the server. The session still owns the transaction (begin, commit, rollback).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from functools import cache
from typing import Any

from psycopg.types.json import Jsonb
from sqlalchemy import Table
from sqlalchemy.orm import Session


def driver(session: Session) -> Any:
    """The psycopg connection of the session's current transaction (begun if need be)."""
    return session.connection().connection.driver_connection


@cache
def select_one_sql(table: str, *, lock: bool = False) -> str:
    sql = f"SELECT data, version FROM {table} WHERE id = %(k_id)s AND organization_id = %(k_org)s"
    return sql + " FOR UPDATE" if lock else sql


@cache
def select_by_sql(table: str, names: tuple[str, ...]) -> str:
    where = "".join(f" AND {n} = %(k_{n})s" for n in names)
    return (
        f"SELECT data, version FROM {table} WHERE organization_id = %(k_org)s{where}"
        " ORDER BY created_at, id"
    )


@cache
def insert_sql(table: str, names: tuple[str, ...]) -> str:
    return (
        f"INSERT INTO {table} ({', '.join(names)}) VALUES ({', '.join(f'%({n})s' for n in names)})"
    )


@cache
def update_sql(table: str, names: tuple[str, ...]) -> str:
    sets = ", ".join(f"{n} = %({n})s" for n in names)
    return (
        f"UPDATE {table} SET {sets}, updated_at = now() WHERE id = %(k_id)s"
        " AND organization_id = %(k_org)s AND version = %(k_version)s"
    )


@cache
def hold_sql(tables: tuple[str, ...]) -> str:
    """Each row's version, share-locked; the sub-selects run left to right, so the rows are
    locked in the order given."""
    columns = ", ".join(
        f"(SELECT version FROM {t} WHERE id = %(i{n})s AND organization_id = %(o{n})s FOR SHARE)"
        for n, t in enumerate(tables)
    )
    return f"SELECT {columns}"


LOGGED_SQL = (
    "SELECT command_type, outcome, payload_hash FROM command_log"
    " WHERE command_id = %(k_command)s AND organization_id = %(k_org)s"
)
LOG_COMMAND_SQL = (
    "INSERT INTO command_log (command_id, organization_id, command_type, correlation_id,"
    " causation_id, user_id, outcome, payload_hash) VALUES (%(command_id)s,"
    " %(organization_id)s, %(command_type)s, %(correlation_id)s, %(causation_id)s,"
    " %(user_id)s, %(outcome)s, %(payload_hash)s)"
    " ON CONFLICT (organization_id, command_id) DO NOTHING RETURNING command_id"
)
OUTBOX_COLUMNS = (
    "event_id", "organization_id", "aggregate_type", "aggregate_id", "aggregate_version",
    "event_type", "topic", "key", "headers", "schema_name", "payload", "schema_fingerprint",
)  # fmt: skip
_JSON_COLUMNS = frozenset({"data", "headers", "outcome"})


def row_params(values: dict[str, Any]) -> dict[str, Any]:
    """Values for psycopg: the JSONB columns wrapped (as SQLAlchemy's JSONB type did)."""
    return {k: Jsonb(v) if k in _JSON_COLUMNS and v is not None else v for k, v in values.items()}


def insert_outbox(conn: Any, rows: Sequence[dict[str, Any]]) -> None:
    if rows:
        with conn.cursor() as cursor:
            cursor.executemany(
                insert_sql("outbox", OUTBOX_COLUMNS),
                [row_params({c: row[c] for c in OUTBOX_COLUMNS}) for row in rows],
            )


def table_names(tables: Iterable[Table]) -> tuple[str, ...]:
    return tuple(t.name for t in tables)
