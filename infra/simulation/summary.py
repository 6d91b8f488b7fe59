"""What a simulated day put on Kafka: counts per topic and event type."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable

from consumers.flow_reader import FlowEvent


def count_events(events: list[FlowEvent]) -> Counter[tuple[str, str]]:
    return Counter((e.topic, e.metadata["event_type"]) for e in events)


def format_counts(counts: Counter[tuple[str, str]], topics: Iterable[str]) -> list[str]:
    lines = []
    for topic in topics:
        per_type = {t: n for (tp, t), n in counts.items() if tp == topic}
        if not per_type:
            continue
        lines.append(f"{topic:<26} {sum(per_type.values()):>7}")
        lines += [f"    {etype:<32} {n:>7}" for etype, n in sorted(per_type.items())]
    lines.append(f"{'total':<26} {sum(counts.values()):>7}")
    return lines
