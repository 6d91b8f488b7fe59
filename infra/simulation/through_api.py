"""The lab day through the HTTP API: the visit's ``send`` becomes an HTTP request per command
(per-role tokens, the command's route), timed; and the demo's summary of what the day did
(critical values, turnaround, the API's requests and latency, where to look next)."""

from __future__ import annotations

import time
from collections import Counter
from datetime import datetime
from typing import Any

from consumers.flow_reader import FlowEvent
from domains.shared.messages import Command
from infra.http.client import ApiClient, LocalTokens


class TimedApiSend:
    """``send(command) -> outcome`` over HTTP, remembering each request's latency."""

    def __init__(self, api_url: str, secret: str, organization_id: str) -> None:
        self.client = ApiClient(api_url, LocalTokens(secret, organization_id))
        self.latencies_s: list[float] = []

    def __call__(self, command: Command) -> dict[str, Any]:
        began = time.perf_counter()
        try:
            return self.client.send(command)
        finally:
            self.latencies_s.append(time.perf_counter() - began)

    def close(self) -> None:
        self.client.close()


def percentile(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))]


def critical_counts(events: list[FlowEvent]) -> Counter[str]:
    kinds = {
        "CRITICAL_VALUE_DETECTED": "detected",
        "NOTIFICATION_SENT": "notified",
        "CRITICAL_VALUE_ACKNOWLEDGED": "acknowledged",
        "CRITICAL_VALUE_ESCALATED": "escalated",
    }
    return Counter(kinds[t] for e in events if (t := e.metadata["event_type"]) in kinds)


def turnaround_seconds(events: list[FlowEvent]) -> list[float]:
    """Receipt of each sample to the verification of each of its results, in seconds (a
    simulated day runs in minutes)."""
    received: dict[str, datetime] = {}
    verified: list[tuple[str, datetime]] = []
    for e in events:
        m = e.metadata
        if m["event_type"] == "SAMPLE_RECEIVED":
            received[m["aggregate_id"]] = m["occurred_at"]
        elif m["event_type"] == "RESULT_VERIFIED":
            verified.append((e.record["sample_id"], m["occurred_at"]))
    return [
        (at - received[sample]).total_seconds() for sample, at in verified if sample in received
    ]


def one_critical_flow(events: list[FlowEvent]) -> str | None:
    for e in events:
        if e.metadata["event_type"] == "CRITICAL_VALUE_DETECTED":
            return str(e.metadata["correlation_id"])
    return None


def summary_lines(
    events: list[FlowEvent], send: TimedApiSend | None, api_url: str | None, org: str
) -> list[str]:
    counts = critical_counts(events)
    tat = turnaround_seconds(events)
    lines = [
        "critical values   "
        + ", ".join(
            f"{counts[k]} {k}" for k in ("detected", "notified", "acknowledged", "escalated")
        ),
        f"receipt->verified p50 {percentile(tat, 50):.1f} s, p95 {percentile(tat, 95):.1f} s "
        f"({len(tat)} results)",
    ]
    if send is not None:
        ms = [s * 1000 for s in send.latencies_s]
        lines.append(
            f"API requests      {len(ms)}, p50 {percentile(ms, 50):.1f} ms, "
            f"p95 {percentile(ms, 95):.1f} ms (client side, one at a time)"
        )
    if api_url:
        lines.append(f"look next         lis serve, then {api_url}/docs and {api_url}/metrics")
    flow = one_critical_flow(events)
    if flow:
        lines.append(f"one critical flow lis trace {flow} --org {org}")
    return lines
