"""Replay: read event topics over a range, filter, and decode with today's reader schemas.

The reader is a bystander: partitions are assigned, never subscribed, no consumer group is
named and nothing is committed, so a replay can never move a live processor's offsets or take
its partitions in a rebalance.

The range of each partition is fixed when the replay starts: from the beginning, a given
offset, or the first message at or after ``since``; up to the end offset of that moment, or the
first message at or after ``until``. Times are Kafka's message timestamps (when the relay
published the event, a moment after its ``occurred_at``), which Kafka can seek by.

Filters on what the headers carry (event type, correlation id) and on the key (aggregate id:
only its murmur2 partition is read at all) cost no decoding; organization needs the payload.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from confluent_kafka import Consumer, KafkaError, Message, TopicPartition

from producers.partitioning import java_partition
from schemas.decoder import Decoded, RegistryDecoder

_META_TIMEOUT_S = 10.0
_REPORT_EVERY = 500  # messages between progress callbacks (a call per message costs)


class ReplayError(RuntimeError):
    """The replay cannot be done as asked (unknown topic, partition, unreadable message)."""


@dataclass(frozen=True)
class ReplayFilter:
    event_types: frozenset[str] = frozenset()
    aggregate_ids: frozenset[str] = frozenset()
    organizations: frozenset[str] = frozenset()
    correlation_ids: frozenset[str] = frozenset()

    @property
    def everything(self) -> bool:
        return not (
            self.event_types or self.aggregate_ids or self.organizations or self.correlation_ids
        )

    def keeps_headers(self, key: bytes | None, headers: dict[str, bytes | None]) -> bool:
        """What can be decided without decoding; headers missing means "decide after"."""
        if self.aggregate_ids and (key or b"").decode() not in self.aggregate_ids:
            return False
        kind = headers.get("event_type")
        if self.event_types and kind is not None and kind.decode() not in self.event_types:
            return False
        if self.correlation_ids and (flow := headers.get("correlation_id")) is not None:
            return flow.decode() in self.correlation_ids
        return True

    def keeps(self, metadata: dict[str, Any]) -> bool:
        return (
            (not self.event_types or metadata["event_type"] in self.event_types)
            and (not self.aggregate_ids or metadata["aggregate_id"] in self.aggregate_ids)
            and (not self.organizations or metadata["organization_id"] in self.organizations)
            and (not self.correlation_ids or metadata["correlation_id"] in self.correlation_ids)
        )


@dataclass(frozen=True)
class ReplaySpec:
    topics: tuple[str, ...]
    starts: dict[tuple[str, int], int] = field(default_factory=dict)  # (topic, partition)
    since: datetime | None = None
    until: datetime | None = None
    filter: ReplayFilter = ReplayFilter()
    partitions: frozenset[int] | None = None  # only these (several readers sharing a topic)


@dataclass(frozen=True)
class PartitionRange:
    topic: str
    partition: int
    start: int  # first offset to read
    end: int  # one past the last

    @property
    def size(self) -> int:
        return max(0, self.end - self.start)


class ReplayedEvent:
    """One replayed event: the decoded record, and the message's coordinates, key and headers,
    taken from the message only when asked (most replays filter and count far more than they
    write)."""

    __slots__ = ("_msg", "decoded")

    def __init__(self, msg: Message, decoded: Decoded) -> None:
        self._msg, self.decoded = msg, decoded

    @property
    def record(self) -> dict[str, Any]:
        return self.decoded.record

    @property
    def topic(self) -> str:
        return str(self._msg.topic())

    @property
    def partition(self) -> int:
        return int(self._msg.partition() or 0)

    @property
    def offset(self) -> int:
        return int(self._msg.offset() or 0)

    @property
    def timestamp_ms(self) -> int:
        return int(self._msg.timestamp()[1])

    @property
    def key(self) -> str:
        return (self._msg.key() or b"").decode()

    @property
    def headers(self) -> dict[str, str]:
        return {k: v.decode() for k, v in _headers(self._msg).items() if v is not None}


def replay_consumer(bootstrap: str, **overrides: Any) -> Consumer:
    """A consumer that joins no group and commits nothing (assign only)."""
    config: dict[str, Any] = {
        "bootstrap.servers": bootstrap,
        "group.id": "lis-replay-unused",  # librdkafka wants one; never joined (no subscribe)
        "enable.auto.commit": False,
        "enable.auto.offset.store": False,
        "enable.partition.eof": True,
        "isolation.level": "read_committed",
        **overrides,
    }
    return Consumer(config)


def plan(consumer: Consumer, spec: ReplaySpec) -> list[PartitionRange]:
    """The offset range of every partition to read; partitions with nothing in range dropped."""
    metadata = consumer.list_topics(timeout=_META_TIMEOUT_S).topics
    ranges: list[PartitionRange] = []
    for t, p in spec.starts:
        if t not in spec.topics:
            raise ReplayError(f"a start offset for {t}[{p}], which is not among the topics read")
    for topic in spec.topics:
        if topic not in metadata or metadata[topic].error is not None:
            raise ReplayError(f"no topic {topic!r} on the broker")
        partitions = sorted(metadata[topic].partitions)
        count = len(partitions)
        for (t, p), _offset in spec.starts.items():
            if t == topic and p not in partitions:
                raise ReplayError(f"{topic} has no partition {p} (it has {count})")
        if spec.partitions is not None:
            partitions = [p for p in partitions if p in spec.partitions]
        if spec.filter.aggregate_ids:  # a key lives on one partition only (murmur2)
            wanted = {java_partition(a, count) for a in spec.filter.aggregate_ids}
            partitions = [p for p in partitions if p in wanted]
        for partition in partitions:
            low, high = consumer.get_watermark_offsets(
                TopicPartition(topic, partition), timeout=_META_TIMEOUT_S
            )
            start = max(low, spec.starts.get((topic, partition), low))
            if spec.since is not None:
                start = max(start, _offset_at(consumer, topic, partition, spec.since, high))
            end = high
            if spec.until is not None:
                end = min(end, _offset_at(consumer, topic, partition, spec.until, high))
            if end > start:
                ranges.append(PartitionRange(topic, partition, start, end))
    return ranges


def _offset_at(consumer: Consumer, topic: str, partition: int, when: datetime, high: int) -> int:
    """The first offset whose timestamp is at or after ``when`` (the end if none is)."""
    wanted = TopicPartition(topic, partition, int(when.timestamp() * 1000))
    (found,) = consumer.offsets_for_times([wanted], timeout=_META_TIMEOUT_S)
    return high if found.offset < 0 else int(found.offset)


def read_ranges(
    consumer: Consumer,
    ranges: Iterable[PartitionRange],
    keep: Callable[[Message], bool] | None = None,
    *,
    batch: int = 1000,
    idle_timeout_s: float = 60.0,
) -> Iterator[tuple[Message, bool]]:
    """Every message of the ranges, in offset order per partition, with ``keep(message)``
    (True without a ``keep``).

    Yields each message (kept or not) so callers can count progress; stops at each range's
    end. A broker silent for ``idle_timeout_s`` with ranges unfinished raises ``ReplayError``.
    """
    todo = {(r.topic, r.partition): r for r in ranges if r.size > 0}
    idle = 0.0
    try:
        if todo:
            consumer.assign([TopicPartition(r.topic, r.partition, r.start) for r in todo.values()])
        while todo:
            messages = consumer.consume(batch, timeout=1.0)
            idle = idle + 1.0 if not messages else 0.0
            if idle >= idle_timeout_s:
                left = _left(todo)
                raise ReplayError(f"no message for {idle_timeout_s:.0f} s; still to read: {left}")
            for msg in messages:
                where = (str(msg.topic()), int(msg.partition() or 0))
                current = todo.get(where)
                offset = int(msg.offset() or 0)
                if (err := msg.error()) is not None:
                    if err.code() != KafkaError._PARTITION_EOF:
                        raise ReplayError(f"reading {where[0]}[{where[1]}]: {err}")
                    # Past the range's end (its last offsets may be transaction markers, which
                    # are never delivered): done. Short of it: more is on its way.
                    if current is not None and offset >= current.end:
                        del todo[where]
                    continue
                if current is None or offset >= current.end:
                    continue
                yield msg, keep is None or keep(msg)
                if offset + 1 >= current.end:
                    del todo[where]
                    consumer.incremental_unassign([TopicPartition(*where)])
    finally:
        consumer.close()


def _left(todo: dict[tuple[str, int], PartitionRange]) -> str:
    return ", ".join(f"{t}[{p}] to {r.end}" for (t, p), r in sorted(todo.items()))


def replay(
    bootstrap: str,
    decoder: RegistryDecoder,
    spec: ReplaySpec,
    *,
    on_plan: Callable[[list[PartitionRange]], None] = lambda _ranges: None,
    on_read: Callable[[int], None] = lambda _n: None,
) -> Iterator[ReplayedEvent]:
    """The events of ``spec``, decoded with the decoder's reader schemas, filtered."""
    consumer = replay_consumer(bootstrap)
    try:
        ranges = plan(consumer, spec)
    except BaseException:
        consumer.close()
        raise
    on_plan(ranges)
    wanted = spec.filter
    everything = wanted.everything

    since_ms = None if spec.since is None else int(spec.since.timestamp() * 1000)
    until_ms = None if spec.until is None else int(spec.until.timestamp() * 1000)
    windowed = since_ms is not None or until_ms is not None

    def by_headers(msg: Message) -> bool:
        # Timestamps need not rise along a partition (several producers): the window is
        # checked per message too, not only where the range starts and ends.
        if windowed:
            ts = int(msg.timestamp()[1])
            if (since_ms is not None and ts < since_ms) or (
                until_ms is not None and ts >= until_ms
            ):
                return False
        return everything or wanted.keeps_headers(msg.key(), _headers(msg))

    unreported = 0
    keep = by_headers if windowed or not everything else None
    for msg, kept in read_ranges(consumer, ranges, keep):
        unreported += 1
        if unreported >= _REPORT_EVERY:
            on_read(unreported)
            unreported = 0
        if not kept:
            continue
        decoded = decoder.decode(msg.value())
        if not everything and not wanted.keeps(decoded.record["metadata"]):
            continue
        yield ReplayedEvent(msg, decoded)
    on_read(unreported)


def _headers(msg: Message) -> dict[str, bytes | None]:
    return dict(msg.headers() or [])  # type: ignore[arg-type]
