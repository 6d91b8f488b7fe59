"""Replay output: JSON Lines keeps an event whole, CSV and Parquet flatten it alike."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, date, datetime

import pyarrow.parquet as pq
import pytest
import typer

from consumers.replay import ReplayedEvent
from infra.cli.replay import parse_start, parse_time, topic_names
from infra.replay.writers import COLUMNS, METADATA, flat_row, write_all, writer_for
from producers.topics import Topics
from schemas.decoder import Decoded

WHEN = datetime(2026, 11, 22, 8, 30, 0, 123456, tzinfo=UTC)


def _event(n: int) -> ReplayedEvent:
    record = {
        "metadata": {
            "event_id": f"e-{n}", "event_type": "PATIENT_CREATED", "aggregate_type": "Patient",
            "aggregate_id": f"p-{n}", "aggregate_version": 1, "organization_id": "org-a",
            "user_id": None, "occurred_at": WHEN, "correlation_id": "flow", "causation_id": "c",
        },
        "date_of_birth": date(1971, 6, 9),
        "tags": ["a", "b"],
    }  # fmt: skip
    decoded = Decoded(3, "lis.patient.PatientCreated", {}, record, b"")
    return ReplayedEvent(_Message(n), decoded)  # type: ignore[arg-type]


class _Message:
    """The parts of a confluent_kafka.Message a replayed event reads."""

    def __init__(self, n: int) -> None:
        self.n = n

    def topic(self) -> str:
        return "lis.patient.events"

    def partition(self) -> int:
        return 2

    def offset(self) -> int:
        return 40 + self.n

    def timestamp(self) -> tuple[int, int]:
        return (1, 1_795_000_000_000)

    def key(self) -> bytes:
        return f"p-{self.n}".encode()

    def headers(self) -> list[tuple[str, bytes | None]]:
        return [("event_id", f"e-{self.n}".encode())]


def test_json_lines_keep_coordinates_headers_schema_and_the_whole_record() -> None:
    out = io.StringIO()
    assert write_all(writer_for("jsonl", out), [_event(1), _event(2)]) == 2

    first = json.loads(out.getvalue().splitlines()[0])
    assert first["offset"] == 41
    assert first["headers"] == {"event_id": "e-1"}
    assert first["schema_id"] == 3
    assert first["event"]["metadata"]["occurred_at"] == WHEN.isoformat()
    assert first["event"]["date_of_birth"] == "1971-06-09"
    assert first["event"]["tags"] == ["a", "b"]


def test_csv_and_parquet_have_the_same_flat_columns_and_rows() -> None:
    text, binary = io.StringIO(), io.BytesIO()
    write_all(writer_for("csv", text), [_event(1), _event(2)])
    write_all(writer_for("parquet", binary), [_event(1), _event(2)])

    rows = list(csv.DictReader(io.StringIO(text.getvalue())))
    table = pq.read_table(io.BytesIO(binary.getvalue()))
    assert tuple(rows[0]) == COLUMNS == tuple(table.column_names)
    parquet = table.to_pylist()
    assert [r["event_id"] for r in rows] == [r["event_id"] for r in parquet] == ["e-1", "e-2"]
    assert parquet[0]["occurred_at"] == WHEN
    assert json.loads(rows[0]["payload"]) == json.loads(parquet[0]["payload"]) == {
        "date_of_birth": "1971-06-09", "tags": ["a", "b"],
    }  # fmt: skip
    assert set(METADATA) <= set(flat_row(_event(1)))


def test_an_unknown_format_is_refused_by_name() -> None:
    with pytest.raises(ValueError, match="unknown format 'xml'"):
        writer_for("xml", io.StringIO())


def test_cli_arguments_parse_times_starts_and_topic_names() -> None:
    assert parse_time("2026-11-22T08:30") == datetime(2026, 11, 22, 8, 30, tzinfo=UTC)
    assert parse_start("lis.sample.events:3:120") == (("lis.sample.events", 3), 120)
    assert topic_names(Topics("ns"), ["sample", "other.topic"]) == (
        "ns.sample.events", "other.topic",
    )  # fmt: skip
    assert topic_names(Topics("ns"), []) == Topics("ns").events
    with pytest.raises(typer.BadParameter, match="TOPIC:PARTITION:OFFSET"):
        parse_start("lis.sample.events:x")
    with pytest.raises(typer.BadParameter, match="ISO 8601"):
        parse_time("yesterday")
