"""The relay's Postgres side: which rows a worker may publish, reading them, deleting them.

Commit-order safety: a pass reads only rows whose writing transaction id is below the oldest
transaction still running (``pg_snapshot_xmin``). Every such row is committed (or rolled back)
for good, so the set only ever grows with newer ids: a transaction that took its id early and
commits late is held back, then published, never skipped (an ``id > last_id`` reader would
skip it).

Slots: an aggregate's rows all have one key, and the key picks one of ``SLOTS`` slots
(``hashtext(key) & 63``, computed by the reader, so nothing about it is stored). A worker
publishes only the slots it holds a session advisory lock for; worker i of N asks for the slots
``s % N == i``. One session per slot means one publisher per aggregate at any time, whatever
the worker counts of relays that overlap in a rolling deploy: a newcomer gets only the slots
nobody holds, and picks up the rest when their holders stop. Every worker also holds the old
single-relay lock in shared mode, so it and a relay from before slots exclude each other.
"""

from __future__ import annotations

import contextlib
from typing import Any

import psycopg

SLOTS = 64
_SLOT_OF_KEY = "(hashtext(key) & 63)"
_SLOT_LOCK_CLASS = 1279873874  # any int4 all relays share; slots are the second key
_LEGACY_LOCK = 7810713668367687020  # the pre-slot relay's exclusive lock
_LEGACY = "SELECT pg_try_advisory_lock_shared(%s)"
_CLAIM = "SELECT s FROM unnest(%(slots)s::int[]) AS s WHERE pg_try_advisory_lock(%(cls)s, s)"
_XMIN = "SELECT pg_snapshot_xmin(pg_current_snapshot())::text::bigint"
# The four contract headers come out as text columns: decoding JSONB per row in Python costs
# more than everything else the relay does for a row. Any other header key rides in ``rest``.
# Batches are id ranges, not "the next N after id x": the next batch's query does not wait for
# this one's last id, so two connections read in parallel (the fetch was the bottleneck).
_FETCH = """
SELECT id, topic, key, schema_name, schema_fingerprint, payload,
       headers->>'event_type', headers->>'event_id',
       headers->>'correlation_id', headers->>'causation_id',
       NULLIF(headers - '{event_type,event_id,correlation_id,causation_id}'::text[], '{}')::text
FROM outbox WHERE id >= %(lo)s AND id < %(hi)s AND txid < %(xmin)s {slots} ORDER BY id
"""
# Every row below xmin lies between these two ids, and that set no longer changes.
_BOUNDS = """
SELECT (SELECT id FROM outbox WHERE txid < %(xmin)s ORDER BY id LIMIT 1),
       (SELECT id FROM outbox WHERE txid < %(xmin)s ORDER BY id DESC LIMIT 1)
"""
# A batch is exactly the rows of its id range that pass the fetch's filter (same xmin, the set
# below xmin never changes and our slots have no other publisher): delete that range by the
# primary key, no list of ids to send.
_DELETE = "DELETE FROM outbox WHERE id BETWEEN %(first)s AND %(last)s AND txid < %(xmin)s {slots}"

Row = tuple[Any, ...]


def wanted_slots(worker: int, workers: int) -> list[int]:
    if not 0 <= worker < workers <= SLOTS:
        raise ValueError(f"worker {worker} of {workers}: need 0 <= worker < workers <= {SLOTS}")
    return [s for s in range(SLOTS) if s % workers == worker]


class OutboxReader:
    """One worker's connections: the lock-holding reader, and a deleter for a second thread."""

    def __init__(self, conninfo: str, slots: list[int]) -> None:
        self._conninfo = conninfo
        self._wanted = slots
        self.held: list[int] = []  # slots whose locks this session holds
        self._legacy = False
        self._db: psycopg.Connection[Any] | None = None  # holds the locks; reads lane 0
        self._lane_db: psycopg.Connection[Any] | None = None  # reads lane 1
        self._delete_db: psycopg.Connection[Any] | None = None

    def claim(self) -> list[int]:
        """Lock the wanted slots nobody else holds (again each pass: holders come and go)."""
        db = self.connection()
        if not self._legacy:
            self._legacy = bool(_one(db, _LEGACY, (_LEGACY_LOCK,)))
            if not self._legacy:
                return []
        missing = [s for s in self._wanted if s not in self.held]
        if missing:
            got = db.execute(_CLAIM, {"slots": missing, "cls": _SLOT_LOCK_CLASS}).fetchall()
            self.held = sorted(self.held + [row[0] for row in got])
        return self.held

    def xmin(self) -> int:
        return int(_one(self.connection(), _XMIN))

    def bounds(self, xmin: int) -> tuple[int, int] | None:
        """The first and last id of the rows below ``xmin`` (None: there are none)."""
        row = self.connection().execute(_BOUNDS, {"xmin": xmin}).fetchone()
        return None if row is None or row[0] is None else (row[0], row[1])

    def fetch(self, xmin: int, lo: int, hi: int, lane: int) -> list[Row]:
        """This worker's rows with ``lo <= id < hi``, on connection ``lane`` (0 or 1)."""
        if lane == 0:
            # Never reconnect here: a new session would not hold our slots, and a range read
            # without them would be skipped while later ones go out (reordering aggregates).
            db = self._db
            if db is None or db.closed:
                raise psycopg.OperationalError("the lock-holding connection was lost")
        else:
            if self._lane_db is None or self._lane_db.closed:
                self._lane_db = _connect(self._conninfo)
            db = self._lane_db
        # Binary rows: bytea and bigint arrive without text decoding.
        with db.cursor(binary=True) as cur:
            cur.execute(self._sql(_FETCH), {**self._params(xmin), "lo": lo, "hi": hi})
            return cur.fetchall()

    def delete(self, xmin: int, first: int, last: int) -> None:
        if self._delete_db is None or self._delete_db.closed:
            self._delete_db = psycopg.connect(self._conninfo, **CONNECT_OPTIONS)
        params = {**self._params(xmin), "first": first, "last": last}
        self._delete_db.execute(self._sql(_DELETE), params)

    def connection(self) -> psycopg.Connection[Any]:
        if self._db is None or self._db.closed:
            self.held, self._legacy = [], False  # locks die with their session
            self._db = _connect(self._conninfo)
        return self._db

    def close(self) -> None:
        for conn in (self._db, self._lane_db, self._delete_db):
            if conn is not None:
                with contextlib.suppress(psycopg.Error):
                    conn.close()
        self._db = self._lane_db = self._delete_db = None
        self.held, self._legacy = [], False

    def _sql(self, template: str) -> str:
        # Holding every slot (one worker): no per-row hash at all.
        everything = len(self.held) == SLOTS
        slots = "" if everything else f"AND {_SLOT_OF_KEY} = ANY(%(slots)s)"
        return template.replace("{slots}", slots)

    def _params(self, xmin: int) -> dict[str, Any]:
        return {"xmin": xmin, "slots": self.held}


# A dead peer must not block the relay (or hold its advisory locks) for the kernel's two-hour
# keepalive default: both ends probe after 30 s, and no statement runs longer than a minute.
CONNECT_OPTIONS: dict[str, Any] = {
    "autocommit": True,
    "connect_timeout": 10,
    "keepalives": 1,
    "keepalives_idle": 30,
    "keepalives_interval": 10,
    "keepalives_count": 3,
    "options": "-c statement_timeout=60000 -c tcp_keepalives_idle=30"
    " -c tcp_keepalives_interval=10 -c tcp_keepalives_count=3",
}


def _connect(conninfo: str) -> psycopg.Connection[Any]:
    db = psycopg.connect(conninfo, **CONNECT_OPTIONS)
    # Walk the primary key in id order, which is what the fetch wants. Right after a burst (no
    # statistics yet) the planner otherwise picks the (txid, id) index and sorts the whole
    # backlog for every batch: measured 100-200 ms instead of 20 ms.
    db.execute("SET enable_sort = off")
    return db


def _one(db: psycopg.Connection[Any], sql: str, params: Any = None) -> Any:
    row = db.execute(sql, params).fetchone()
    if row is None:  # cannot happen: a SELECT of one expression returns one row
        raise psycopg.ProgrammingError(f"no row from {sql!r}")
    return row[0]
