"""`lis trace`: a flow printed as its causation tree."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from consumers.flow_reader import FlowEvent
from infra.trace import CommandInfo, causation_tree

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
