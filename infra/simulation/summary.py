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


_FAMILIES = (
    ("patient:", "patients"),
    ("patient:mrn:", "MRN index entries"),
    ("order:", "orders"),
    ("sample:", "samples (with timeline)"),
    ("result:", "results"),
    ("worklist:*:criticals:", "critical worklists"),
    ("worklist:*:bench:", "bench queues"),
    ("worklist:*:recollections:", "recollection worklists"),
    ("_v:", "field-version hashes"),
)


def read_model_lines(redis_url: str, prefix: str = "") -> list[str]:
    """Read-model keys per family, and what waits on the worklists."""
    from infra.redis.store import redis_client
    from infra.redis.views import key_counts, worklist_sizes

    client = redis_client(redis_url)
    try:
        counts, waiting = key_counts(client, prefix), worklist_sizes(client, prefix)
    finally:
        client.close()
    lines = [f"{family + '*':<26} {counts[family]:>7}  {what}" for family, what in _FAMILIES]
    entries = ", ".join(
        f"{kind} {waiting[kind]}" for kind in ("criticals", "bench", "recollections")
    )
    return [*lines, f"waiting on worklists: {entries}"]
