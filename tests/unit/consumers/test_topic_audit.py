"""The topic contract check finds each kind of breach (so a clean verdict means something)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from consumers.flow_reader import FlowEvent
from consumers.topic_audit import audit
from producers.partitioning import java_partition
from producers.topics import Topics

TOPICS = Topics()
SAMPLE = TOPICS.for_aggregate("Sample")
COUNTS = dict.fromkeys(TOPICS.events, 6)


def event(
    key: str, version: int, *, event_id: str | None = None, partition: int | None = None,
    topic: str = SAMPLE, aggregate_type: str = "Sample", **payload: Any,
) -> FlowEvent:  # fmt: skip
    record = {
        "metadata": {
            "event_id": event_id or f"{key}-v{version}",
            "event_type": "SAMPLE_RECEIVED",
            "aggregate_type": aggregate_type,
            "aggregate_id": key,
            "aggregate_version": version,
            "occurred_at": datetime(2026, 12, 3, tzinfo=UTC),
        },
        **payload,
    }
    where = java_partition(key, 6) if partition is None else partition
    return FlowEvent(topic, where, version, key, record)


def test_a_clean_history_with_an_identical_redelivery_passes() -> None:
    events = [event("s-1", 1), event("s-1", 2), event("s-1", 2), event("s-2", 1)]
    report = audit(events, TOPICS, COUNTS)
    assert (report.clean, report.events, report.duplicates, report.aggregates) == (
        True, 4, 1, 2,
    )  # fmt: skip


def test_a_gap_a_restart_and_a_reorder_in_versions_are_each_reported() -> None:
    events = [event("gap", 1), event("gap", 3), event("late", 2), event("late", 1)]
    events += [event("test-junk", 7)]
    problems = audit(events, TOPICS, COUNTS).problems
    assert problems == [
        "Sample gap: versions [1, 3], not 1..n",
        "Sample late: versions [2, 1], not 1..n",
        "Sample test-junk: versions [7], not 1..n",
    ]


def test_a_key_off_its_murmur2_partition_is_reported() -> None:
    right = java_partition("s-9", 6)
    wrong = (right + 1) % 6
    problems = audit([event("s-9", 1, partition=wrong)], TOPICS, COUNTS).problems
    assert problems == [f"{SAMPLE}[{wrong}]@1: key s-9 belongs on partition {right} (murmur2)"]


def test_a_redelivery_with_other_content_and_a_wrong_topic_are_reported() -> None:
    events = [
        event("s-1", 1, event_id="e-1", note="first"),
        event("s-1", 1, event_id="e-1", note="changed"),
        event("o-1", 1, aggregate_type="Order"),
    ]
    problems = audit(events, TOPICS, COUNTS).problems
    assert problems[0].endswith("event e-1 repeated with other content")
    assert problems[1].endswith(f"a Order event on {SAMPLE}")
