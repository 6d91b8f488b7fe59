"""Build the read models again from the event topics alone (into any store: another Redis
database or prefix), e.g. to check the live ones or to recover them.

Every partition is read from its first offset to the end offset noted when the rebuild began,
decoded with the writer's schema and projected exactly as the live processor does; what the
live processor dead-letters (undecodable, unprojectable) is skipped and counted here too.

With ``until``, only the events that occurred at or before that moment are projected: the read
models as the lab stood then (an event's ``occurred_at`` is when its command was handled, so the
model equals the live one captured at that moment once everything before it was published).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from confluent_kafka import Consumer, KafkaError, Message

from consumers.base import checked_event_id, header, is_transient
from consumers.flow_reader import FlowReadTimeout, watermarks
from consumers.read_models.ops import Op, ReadModelStore, coalesce
from consumers.read_models.projection import project
from schemas.decoder import RegistryDecoder

_GROUP = "lis-read-model-rebuild"  # assigned, never subscribed: no offsets are committed


@dataclass
class RebuildReport:
    events: int = 0
    skipped: int = 0  # poison: what the live processor dead-letters
    later: int = 0  # occurred after ``until``: not projected
    seconds: float = 0.0


def rebuild(
    bootstrap: str,
    decoder: RegistryDecoder,
    topics: Sequence[str],
    store: ReadModelStore,
    *,
    batch: int = 5000,
    timeout_s: float = 600.0,
    until: datetime | None = None,
) -> RebuildReport:
    """Project every event of ``topics`` (up to ``until`` when given, a time zone aware
    moment) into ``store`` (which should start empty)."""
    began = time.monotonic()
    report = RebuildReport()
    ends = {(tp.topic, tp.partition): tp.offset for tp in watermarks(bootstrap, topics)}
    starts = watermarks(bootstrap, topics, end=False)
    todo = [tp for tp in starts if ends[(tp.topic, tp.partition)] > tp.offset]
    remaining = {(tp.topic, tp.partition) for tp in todo}
    consumer = Consumer(
        {
            "bootstrap.servers": bootstrap,
            "group.id": _GROUP,
            "enable.auto.commit": False,
            "isolation.level": "read_committed",
            "enable.partition.eof": True,
        }
    )
    pending: list[Op] = []
    try:
        if todo:
            consumer.assign(todo)
        while remaining:
            if time.monotonic() - began > timeout_s:
                raise FlowReadTimeout(f"rebuild: {len(remaining)} partitions not read in time")
            for msg in consumer.consume(batch, 1.0):
                where = (str(msg.topic()), int(msg.partition() or 0))
                if (err := msg.error()) is not None:
                    if err.code() == KafkaError._PARTITION_EOF:
                        remaining.discard(where)
                        continue
                    raise RuntimeError(f"rebuild: reading {where}: {err}")
                offset = int(msg.offset() or 0)
                if offset >= ends[where]:  # written after the rebuild began
                    remaining.discard(where)
                    continue
                pending += _operations(msg, decoder, report, until)
                if offset + 1 >= ends[where]:
                    remaining.discard(where)
            if len(pending) >= batch * 4 or not remaining:
                store.apply(coalesce(pending))
                pending = []
    finally:
        consumer.close()
    report.seconds = time.monotonic() - began
    return report


def _operations(
    msg: Message, decoder: RegistryDecoder, report: RebuildReport, until: datetime | None
) -> list[Op]:
    try:
        decoded = decoder.decode(msg.value())
        checked_event_id(decoded.record, header(msg, "event_id"))
        if until is not None and decoded.record["metadata"]["occurred_at"] > until:
            report.later += 1
            return []
        ops = project(decoded.schema_name, decoded.record)
    except Exception as exc:
        if is_transient(exc):
            raise
        report.skipped += 1
        return []
    report.events += 1
    return ops
