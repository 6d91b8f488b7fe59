"""`lis trace` prints delays: after each event's cause, per critical step; and JSON."""

from __future__ import annotations

import json

from infra.cli.trace import CommandInfo, causation_tree, critical_lines, trace_json
from tests.unit.consumers.test_flow_timing import _acknowledged_flow


def test_the_tree_shows_the_delay_after_an_event_cause_only() -> None:
    lines = causation_tree(_acknowledged_flow(), {})

    notified = next(line for line in lines if "NOTIFICATION_SENT" in line)
    detected = next(line for line in lines if "CRITICAL_VALUE_DETECTED" in line)
    assert notified.endswith("+4.498 s after cause")
    assert "after cause" not in detected  # caused by a command


def test_the_critical_section_lists_the_steps_with_delays_and_the_total() -> None:
    from consumers.flow_timing import critical_flows

    lines = critical_lines(critical_flows(_acknowledged_flow()))

    assert lines[0].endswith("acknowledged, total +184.500 s")
    assert lines[-1].split()[0] == "acknowledged"
    assert lines[-1].endswith("+180.000 s")


def test_json_holds_events_with_delays_commands_and_critical_values() -> None:
    commands = {"cmd-enter": CommandInfo("EnterResult", "tech.anita")}

    data = json.loads(json.dumps(trace_json("flow-1", "lab-a", _acknowledged_flow(), commands)))

    assert data["commands"] == {
        "cmd-enter": {"command_type": "EnterResult", "user_id": "tech.anita"}
    }
    assert [e["after_cause_s"] for e in data["events"]] == [None, None, 4.498, None]
    (critical,) = data["critical_values"]
    assert critical["outcome"] == "acknowledged"
    assert critical["total_s"] == 184.5
    assert critical["steps"][0]["at"] == "2026-11-22T09:00:00+00:00"
