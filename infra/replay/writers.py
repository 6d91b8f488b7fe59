"""Replayed events to JSON Lines, CSV or Parquet.

JSON Lines keeps each event whole: the Kafka coordinates, key and headers, the schema id and
record name, and the record (``metadata`` + payload) in the reader schema's shape. CSV and
Parquet are flat for pandas/DuckDB: one column per metadata field, the payload (which differs
per event type) as one JSON text column. Times are UTC ISO 8601 in text, timestamps in Parquet.
"""

from __future__ import annotations

import base64
import csv
import json
from collections.abc import Iterable
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import IO, Any, Protocol

from consumers.replay import ReplayedEvent

FORMATS = ("jsonl", "csv", "parquet")
METADATA = (
    "event_id", "event_type", "aggregate_type", "aggregate_id", "aggregate_version",
    "organization_id", "user_id", "occurred_at", "correlation_id", "causation_id",
)  # fmt: skip
COLUMNS = (
    "topic", "partition", "offset", "timestamp", "key", "schema_id", "schema_name",
    *METADATA, "payload",
)  # fmt: skip
_PARQUET_BATCH = 10_000


class EventWriter(Protocol):
    def write(self, event: ReplayedEvent) -> None: ...

    def close(self) -> None: ...


def _plain(value: Any) -> Any:
    """A JSON-safe value: times as ISO 8601 (UTC), bytes as base64, decimals as text."""
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, bytes):
        return base64.b64encode(value).decode()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


def _kafka_time(event: ReplayedEvent) -> datetime:
    return datetime.fromtimestamp(event.timestamp_ms / 1000, tz=UTC)


def json_line(event: ReplayedEvent) -> dict[str, Any]:
    return {
        "topic": event.topic,
        "partition": event.partition,
        "offset": event.offset,
        "timestamp": _kafka_time(event).isoformat(),
        "key": event.key,
        "headers": event.headers,
        "schema_id": event.decoded.schema_id,
        "schema_name": event.decoded.schema_name,
        "event": _plain(event.record),
    }


def flat_row(event: ReplayedEvent) -> dict[str, Any]:
    """One row: coordinates, metadata columns, and the payload as JSON text."""
    record = event.record
    meta = record["metadata"]
    payload = {k: v for k, v in record.items() if k != "metadata"}
    return {
        "topic": event.topic,
        "partition": event.partition,
        "offset": event.offset,
        "timestamp": _kafka_time(event),
        "key": event.key,
        "schema_id": event.decoded.schema_id,
        "schema_name": event.decoded.schema_name,
        **{name: meta.get(name) for name in METADATA},
        "payload": json.dumps(_plain(payload), sort_keys=True, separators=(",", ":")),
    }


class JsonLinesWriter:
    def __init__(self, out: IO[str]) -> None:
        self._out = out

    def write(self, event: ReplayedEvent) -> None:
        self._out.write(json.dumps(json_line(event), separators=(",", ":")) + "\n")

    def close(self) -> None:
        self._out.flush()


class CsvWriter:
    def __init__(self, out: IO[str]) -> None:
        self._out = out
        self._csv = csv.DictWriter(out, fieldnames=COLUMNS)
        self._csv.writeheader()

    def write(self, event: ReplayedEvent) -> None:
        self._csv.writerow(_plain(flat_row(event)))

    def close(self) -> None:
        self._out.flush()


class ParquetWriter:
    """Rows in batches (memory stays flat for any replay size), typed columns."""

    def __init__(self, out: IO[bytes]) -> None:
        import pyarrow as pa  # only replays to Parquet pay for importing Arrow
        import pyarrow.parquet as pq

        self._pa = pa
        utc = pa.timestamp("us", tz="UTC")
        types = {
            "partition": pa.int32(),
            "offset": pa.int64(),
            "timestamp": utc,
            "schema_id": pa.int32(),
            "aggregate_version": pa.int64(),
            "occurred_at": utc,
        }
        self._schema = pa.schema([(c, types.get(c, pa.string())) for c in COLUMNS])
        self._writer = pq.ParquetWriter(out, self._schema)
        self._rows: list[dict[str, Any]] = []

    def write(self, event: ReplayedEvent) -> None:
        self._rows.append(flat_row(event))
        if len(self._rows) >= _PARQUET_BATCH:
            self._flush()

    def _flush(self) -> None:
        if self._rows:
            table = self._pa.Table.from_pylist(self._rows, schema=self._schema)
            self._writer.write_table(table)
            self._rows = []

    def close(self) -> None:
        self._flush()
        self._writer.close()


def writer_for(fmt: str, out: IO[Any]) -> EventWriter:
    if fmt == "jsonl":
        return JsonLinesWriter(out)
    if fmt == "csv":
        return CsvWriter(out)
    if fmt == "parquet":
        return ParquetWriter(out)
    raise ValueError(f"unknown format {fmt!r}; one of {', '.join(FORMATS)}")


def write_all(writer: EventWriter, events: Iterable[ReplayedEvent]) -> int:
    count = 0
    try:
        for event in events:
            writer.write(event)
            count += 1
    finally:
        writer.close()
    return count
