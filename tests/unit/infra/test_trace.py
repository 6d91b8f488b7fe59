"""`lis trace`: a flow printed as its causation tree."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import typer
from confluent_kafka import TopicPartition
from sqlalchemy import create_engine, text
from typer.testing import CliRunner

from consumers import flow_reader
from consumers.flow_reader import FlowEvent
from infra.cli.trace import CommandInfo, causation_tree, command_infos, of_organization, trace

T0 = datetime(2026, 11, 21, 9, 0, tzinfo=UTC)


def _event(event_id: str, event_type: str, cause: str, seconds: int) -> FlowEvent:
    meta: dict[str, Any] = {
        "event_id": event_id,
        "event_type": event_type,
        "aggregate_type": "Sample",
        "aggregate_id": "sample-1234",
        "aggregate_version": seconds,
        "causation_id": cause,
        "occurred_at": T0 + timedelta(seconds=seconds),
        "correlation_id": "flow-1",
    }
    return FlowEvent("lis.sample.events", 0, seconds, "sample-1234", {"metadata": meta})


def test_commands_are_roots_and_processor_events_hang_under_their_cause() -> None:
    events = [
        _event("e3", "SAMPLE_ROUTED", "e2", 3),  # a processor reacted to e2
        _event("e1", "SAMPLE_COLLECTED", "cmd-1", 1),
        _event("e2", "SAMPLE_RECEIVED", "cmd-2", 2),
    ]
    commands = {
        "cmd-1": CommandInfo("CollectSample", "phleb.ravi"),
        "cmd-2": CommandInfo("ReceiveSample", "tech.anita"),
    }

    lines = causation_tree(events, commands)

    assert [line.split()[0] for line in lines] == [
        "CollectSample",
        "└─",
        "ReceiveSample",
        "└─",
        "└─",
    ]
    assert "SAMPLE_COLLECTED" in lines[1]
    assert "SAMPLE_RECEIVED" in lines[3]
    assert lines[4].startswith("     └─ SAMPLE_ROUTED")  # one level deeper than its cause


def test_a_cause_that_is_neither_a_known_command_nor_an_event_is_shown_as_unknown() -> None:
    lines = causation_tree([_event("e1", "SAMPLE_COLLECTED", "lost", 1)], {})
    assert lines[0].startswith("unknown cause  [lost]")


# --- scoped to one organization ------------------------------------------------------------------


def test_commands_are_looked_up_only_in_the_tracing_organization() -> None:
    # The query is plain SQL: an in-memory SQLite table of the same columns stands in for
    # Postgres. Command ids are unique per tenant only, so both labs may hold "cmd-1".
    engine = create_engine("sqlite://")
    with engine.begin() as conn:
        conn.execute(
            text(
                "CREATE TABLE command_log (organization_id text, command_id text,"
                " command_type text, correlation_id text, user_id text)"
            )
        )
        conn.execute(
            text("INSERT INTO command_log VALUES (:o, :i, :t, 'flow-1', :u)"),
            [
                {"o": "lab-a", "i": "cmd-1", "t": "CollectSample", "u": "phleb.ravi"},
                {"o": "lab-b", "i": "cmd-1", "t": "RejectSample", "u": "intruder"},
                {"o": "lab-b", "i": "cmd-9", "t": "RegisterPatient", "u": "intruder"},
            ],
        )
        commands = command_infos(conn, "flow-1", "lab-a")
    engine.dispose()

    assert commands == {"cmd-1": CommandInfo("CollectSample", "phleb.ravi")}


def test_events_of_another_organization_with_the_same_correlation_id_are_left_out() -> None:
    ours = _event("e1", "SAMPLE_COLLECTED", "cmd-1", 1)
    theirs = _event("e2", "SAMPLE_REJECTED", "cmd-1", 2)
    ours.record["metadata"]["organization_id"] = "lab-a"
    theirs.record["metadata"]["organization_id"] = "lab-b"

    assert of_organization([ours, theirs], "lab-a") == [ours]


def test_the_org_option_is_required() -> None:
    # The command alone, not ``infra.cli.app``: its callback configures structlog to write to
    # the sys.stderr of the moment, which CliRunner swaps for a buffer it then closes; every
    # later log line in this test process would fail.
    app = typer.Typer()
    app.command()(trace)
    app.command("noop")(lambda: None)  # two commands: ``trace`` stays a subcommand, as in lis

    result = CliRunner().invoke(app, ["trace", "flow-1"])

    assert result.exit_code == 2
    assert "--org" in result.output


# --- read to the end, or fail ---------------------------------------------------------------------


class _FakeMessage:
    def __init__(self, offset: int, correlation_id: bytes) -> None:
        self._offset, self._correlation_id = offset, correlation_id

    def error(self) -> None:
        return None

    def topic(self) -> str:
        return "lis.sample.events"

    def partition(self) -> int:
        return 0

    def offset(self) -> int:
        return self._offset

    def key(self) -> bytes:
        return b"sample-1234"

    def value(self) -> bytes:
        return b"framed"

    def headers(self) -> list[tuple[str, bytes]]:
        return [("correlation_id", self._correlation_id)]


class _GappyConsumer:
    """A partition of two messages (end offset 2) that the broker serves after long pauses:
    ``None`` polls come between the messages, as when a fetch takes longer than a poll."""

    script: list[_FakeMessage | None] = []

    def __init__(self, config: dict[str, Any]) -> None:
        self.polls = list(type(self).script)

    def get_watermark_offsets(self, tp: TopicPartition, timeout: float) -> tuple[int, int]:
        return 0, 2

    def assign(self, partitions: list[TopicPartition]) -> None:
        pass

    def poll(self, timeout: float) -> _FakeMessage | None:
        if self.polls:
            return self.polls.pop(0)
        time.sleep(min(timeout, 0.02))
        return None

    def position(self, partitions: list[TopicPartition]) -> list[TopicPartition]:
        return [TopicPartition(tp.topic, tp.partition, 1) for tp in partitions]

    def close(self) -> None:
        pass


@pytest.fixture
def gappy(monkeypatch: pytest.MonkeyPatch) -> type[_GappyConsumer]:
    monkeypatch.setattr(flow_reader, "Consumer", _GappyConsumer)
    monkeypatch.setattr(flow_reader, "AvroDeserializer", lambda _client: lambda value, _ctx: {})
    return _GappyConsumer


def _read(timeout_s: float) -> list[FlowEvent]:
    start = [TopicPartition("lis.sample.events", 0, 0)]
    return flow_reader.read_flows(
        "unused:9092", "http://unused.invalid", start, {"flow-1"}, timeout_s=timeout_s
    )


def test_quiet_polls_do_not_end_the_read_before_the_end_offset(
    gappy: type[_GappyConsumer],
) -> None:
    gappy.script = [None, _FakeMessage(0, b"flow-1"), None, None, _FakeMessage(1, b"flow-1")]

    found = _read(timeout_s=10)

    assert [e.offset for e in found] == [0, 1]


def test_a_read_that_cannot_reach_the_end_raises_instead_of_returning_part(
    gappy: type[_GappyConsumer],
) -> None:
    gappy.script = [_FakeMessage(0, b"flow-1")]  # offset 1 never comes

    with pytest.raises(flow_reader.FlowReadTimeout) as timed_out:
        _read(timeout_s=0.3)

    assert "lis.sample.events[0] at 1 of 2" in str(timed_out.value)
