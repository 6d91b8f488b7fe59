"""Time in a flow: each event's delay after the event that caused it, and the steps of every
critical value in it (result entered -> critical detected -> clinician notified ->
acknowledged, or escalated), each with its delay after the step before and the total.

Events are matched by what they say, not by who emits them, so steps other services add later
fit without change: a notification belongs to a critical value when it was caused by that
value's CRITICAL_VALUE_DETECTED or CRITICAL_VALUE_ESCALATED event or names the critical id as
its subject; an escalation belongs to it by its ``critical_id`` (whatever caused it: a timer,
a person). Times are the events' ``occurred_at``.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

from consumers.flow_reader import FlowEvent

DETECTED = "CRITICAL_VALUE_DETECTED"
ACKNOWLEDGED = "CRITICAL_VALUE_ACKNOWLEDGED"
ESCALATED = "CRITICAL_VALUE_ESCALATED"
NOTIFIED = "NOTIFICATION_SENT"
_ENTERED = ("RESULT_ENTERED", "RESULT_AMENDED")


def when(event: FlowEvent) -> datetime:
    occurred: datetime = event.metadata["occurred_at"]
    return occurred


def delays_after_cause(events: Iterable[FlowEvent]) -> dict[str, float]:
    """event id -> seconds after its cause, for events caused by another event of the flow
    (a command's events have no event before them to measure from)."""
    events = list(events)
    by_id = {e.metadata["event_id"]: e for e in events}
    found: dict[str, float] = {}
    for event in events:
        cause = by_id.get(event.metadata["causation_id"])
        if cause is not None:
            found[event.metadata["event_id"]] = (when(event) - when(cause)).total_seconds()
    return found


@dataclass(frozen=True)
class Step:
    step: str  # result entered | critical detected | clinician notified | escalated (tier n) ...
    event_type: str
    event_id: str
    at: datetime
    after_previous_s: float | None


@dataclass(frozen=True)
class CriticalFlow:
    critical_id: str
    result_id: str
    outcome: str  # acknowledged | escalated | open
    total_s: float | None  # first step to acknowledgement (or to the last escalation)
    steps: list[Step] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        data = asdict(self)
        for step in data["steps"]:
            step["at"] = step["at"].isoformat()
        return data


def critical_flows(events: Iterable[FlowEvent]) -> list[CriticalFlow]:
    events = sorted(events, key=when)
    flows = []
    for detected in (e for e in events if e.metadata["event_type"] == DETECTED):
        flows.append(_critical_flow(detected, events))
    return flows


def _critical_flow(detected: FlowEvent, events: list[FlowEvent]) -> CriticalFlow:
    critical_id, result_id = detected.record["critical_id"], detected.record["result_id"]
    tagged: list[tuple[str, FlowEvent]] = []
    if (entered := _entered(detected, events)) is not None:
        tagged.append(("result entered", entered))
    tagged.append(("critical detected", detected))
    escalations = [
        e for e in events
        if e.metadata["event_type"] == ESCALATED and e.record.get("critical_id") == critical_id
    ]  # fmt: skip
    tiers = {e.metadata["event_id"]: e.record.get("tier") for e in escalations}
    for e in escalations:
        tagged.append((f"escalated (tier {e.record.get('tier')})", e))
    for e in events:
        if e.metadata["event_type"] != NOTIFIED:
            continue
        cause = e.metadata["causation_id"]
        if cause in tiers:
            tagged.append((f"tier {tiers[cause]} notified", e))
        elif cause == detected.metadata["event_id"] or e.record.get("subject_id") == critical_id:
            tagged.append(("clinician notified", e))
    acks = [
        e for e in events
        if e.metadata["event_type"] == ACKNOWLEDGED and e.record.get("critical_id") == critical_id
    ]  # fmt: skip
    tagged.extend(("acknowledged", e) for e in acks[:1])
    tagged.sort(key=lambda pair: when(pair[1]))
    steps: list[Step] = []
    previous: datetime | None = None
    for name, e in tagged:
        gap: float | None = None if previous is None else (when(e) - previous).total_seconds()
        steps.append(Step(name, e.metadata["event_type"], e.metadata["event_id"], when(e), gap))
        previous = when(e)
    end = acks[0] if acks else (escalations[-1] if escalations else None)
    outcome = "acknowledged" if acks else "escalated" if escalations else "open"
    total = None if end is None else (when(end) - steps[0].at).total_seconds()
    return CriticalFlow(critical_id, result_id, outcome, total, steps)


def _entered(detected: FlowEvent, events: list[FlowEvent]) -> FlowEvent | None:
    """The result event the critical was detected on: same command (one transaction), else the
    latest entry or amendment of the result before it."""
    result_id = detected.record["result_id"]
    candidates = [
        e for e in events
        if e.metadata["event_type"] in _ENTERED and e.record.get("result_id") == result_id
        and when(e) <= when(detected)
    ]  # fmt: skip
    same_command = [
        e for e in candidates if e.metadata["causation_id"] == detected.metadata["causation_id"]
    ]
    chosen = same_command or candidates
    return chosen[-1] if chosen else None


def seconds(value: float | None) -> str:
    """``+1.234 s`` (or ``-`` when unknown), for the printed trace."""
    return "-" if value is None else f"+{value:.3f} s"
