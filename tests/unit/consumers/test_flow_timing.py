"""Time in a flow, on synthetic events, including the steps other services will add
(NOTIFICATION_SENT caused by the detection, CRITICAL_VALUE_ESCALATED caused by a timer)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from consumers.flow_reader import FlowEvent
from consumers.flow_timing import critical_flows, delays_after_cause

T0 = datetime(2026, 11, 22, 9, 0, tzinfo=UTC)


def _event(event_id: str, event_type: str, cause: str, seconds: float, **payload: Any) -> FlowEvent:
    meta = {
        "event_id": event_id,
        "event_type": event_type,
        "aggregate_type": "Notification" if event_type.startswith("NOTIF") else "Result",
        "aggregate_id": payload.get("result_id", "n-1"),
        "aggregate_version": 1,
        "causation_id": cause,
        "occurred_at": T0 + timedelta(seconds=seconds),
        "correlation_id": "flow-1",
        "organization_id": "lab-a",
    }
    return FlowEvent("t", 0, int(seconds), meta["aggregate_id"], {"metadata": meta, **payload})


def _acknowledged_flow() -> list[FlowEvent]:
    crit = {"result_id": "r-1", "critical_id": "c-1"}
    return [
        _event("e1", "RESULT_ENTERED", "cmd-enter", 0.0, result_id="r-1"),
        _event("e2", "CRITICAL_VALUE_DETECTED", "cmd-enter", 0.002, **crit),
        _event("e3", "NOTIFICATION_SENT", "e2", 4.5, subject_id="c-1", tier=None),
        _event("e4", "CRITICAL_VALUE_ACKNOWLEDGED", "cmd-ack", 184.5, **crit),
    ]


def test_each_event_caused_by_an_event_gets_its_delay_after_that_cause() -> None:
    delays = delays_after_cause(_acknowledged_flow())

    assert delays == {"e3": 4.498}  # e1, e2, e4 were caused by commands


def test_an_acknowledged_critical_shows_every_step_and_the_total() -> None:
    (flow,) = critical_flows(_acknowledged_flow())

    assert [s.step for s in flow.steps] == [
        "result entered", "critical detected", "clinician notified", "acknowledged",
    ]  # fmt: skip
    assert [s.after_previous_s for s in flow.steps] == [None, 0.002, 4.498, 180.0]
    assert flow.outcome == "acknowledged"
    assert flow.total_s == 184.5


def test_an_escalation_caused_by_a_timer_and_its_notification_join_the_critical() -> None:
    crit = {"result_id": "r-1", "critical_id": "c-1"}
    events = [
        *_acknowledged_flow()[:3],
        _event("e5", "CRITICAL_VALUE_ESCALATED", "timer-sla-c-1", 904.5, tier=1, **crit),
        _event("e6", "NOTIFICATION_SENT", "e5", 905.0, subject_id="c-1", tier=1),
        # another critical's escalation in the same flow stays out of this one
        _event(
            "x1",
            "CRITICAL_VALUE_ESCALATED",
            "timer-x",
            906.0,
            tier=1,
            result_id="r-2",
            critical_id="c-2",
        ),
    ]

    flows = {f.critical_id: f for f in critical_flows(events)}

    flow = flows["c-1"]
    assert [s.step for s in flow.steps][-2:] == ["escalated (tier 1)", "tier 1 notified"]
    assert flow.outcome == "escalated"
    assert flow.total_s == 904.5
    assert "x1" not in {s.event_id for s in flow.steps}
    assert set(flows) == {"c-1"}  # x1 has no detection of its own in this flow


def test_a_critical_nobody_answered_yet_is_open_with_no_total() -> None:
    (flow,) = critical_flows(_acknowledged_flow()[:2])

    assert flow.outcome == "open"
    assert flow.total_s is None
