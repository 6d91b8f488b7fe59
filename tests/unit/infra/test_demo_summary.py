"""The demo's summary of a day read from Kafka: critical value counts, receipt-to-verification
turnaround, and one critical flow to trace."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from consumers.flow_reader import FlowEvent
from infra.simulation.through_api import summary_lines, turnaround_seconds

T0 = datetime(2026, 12, 3, 9, 0, tzinfo=UTC)


def event(kind: str, aggregate: str, seconds: float, **payload: Any) -> FlowEvent:
    metadata = {
        "event_type": kind,
        "aggregate_id": aggregate,
        "correlation_id": "flow-1",
        "occurred_at": T0 + timedelta(seconds=seconds),
    }
    return FlowEvent("t", 0, 0, aggregate, {"metadata": metadata, **payload})


def test_turnaround_runs_from_each_samples_receipt_to_each_of_its_verifications() -> None:
    events = [
        event("SAMPLE_RECEIVED", "s-1", 0),
        event("RESULT_VERIFIED", "r-1", 90, sample_id="s-1"),
        event("RESULT_VERIFIED", "r-2", 150, sample_id="s-1"),
        event("RESULT_VERIFIED", "r-3", 10, sample_id="s-unknown"),
    ]
    assert turnaround_seconds(events) == [90.0, 150.0]


def test_the_summary_counts_critical_values_and_names_a_flow_to_trace() -> None:
    events = [
        event("CRITICAL_VALUE_DETECTED", "r-1", 0),
        event("CRITICAL_VALUE_ESCALATED", "r-1", 900),
        event("CRITICAL_VALUE_ACKNOWLEDGED", "r-1", 1000),
    ]
    lines = summary_lines(events, None, "http://127.0.0.1:8000", "lab-main")
    assert lines[0].split(None, 2)[2] == "1 detected, 0 notified, 1 acknowledged, 1 escalated"
    assert lines[-1].endswith("lis trace flow-1 --org lab-main")
