"""``lis bench worker``: the read-model processor against a raw confluent-kafka loop that only
decodes (fastavro), on the same messages, in one run.

The messages are real events: every patient/order/sample/result/report event in the namespace's
topics (simulated days: ``lis demo`` writes them), decoded with their writer's schema, copied
with fresh ids until there are ``--events`` of them (``worker_data``) and written once to a
fresh 6-partition topic. Each run, each side reads the whole topic with a fresh consumer group
and the processors' consumer settings:

- raw: ``consume`` batches, unframe, look the writer schema up by id, ``schemaless_reader``;
- processor: the real ``BatchConsumer`` with the ``ReadModelHandler`` and the Redis store (a
  fresh key prefix): decode, check, project, one Lua call per batch, offsets stored.

Each side is timed from its first message to its last one done (decoded; applied to Redis), so
the group join is not counted for either. Runs alternate raw and processor, so both see the
same machine load; the best of each counts.
"""

from __future__ import annotations

import io
import json
import sys
import threading
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import fastavro
import redis
from confluent_kafka import Consumer, KafkaError, Message
from confluent_kafka.admin import AdminClient

from consumers.base import checked_event_id, header
from consumers.batch import BatchConsumer
from consumers.flow_reader import watermarks
from consumers.kafka_config import consumer_config
from consumers.read_models.handler import ReadModelHandler
from consumers.read_models.ops import coalesce
from consumers.read_models.projection import AGGREGATES, project
from infra.bench.worker_data import Item, copies, write_events
from infra.config.settings import Settings
from infra.redis.store import RedisReadModelStore, redis_client
from infra.redis.views import clear
from producers.topics import ensure_topics
from schemas.avro_codec import default_codec, unframe
from schemas.catalog import event_classes
from schemas.decoder import RegistryDecoder
from schemas.registry import SchemaIds, registry_client


@dataclass
class WorkerBench:
    events: int
    source_events: int
    processor_s: list[float] = field(default_factory=list)
    raw_s: list[float] = field(default_factory=list)
    keys: int = 0
    batches: int = 0  # of the best processor run
    stages: dict[str, float] = field(default_factory=dict)  # CPU µs per event

    def summary(self) -> str:
        best, raw = self.events / min(self.processor_s), self.events / min(self.raw_s)
        runs = "  ".join(
            f"processor {self.events / p:,.0f}/s raw {self.events / r:,.0f}/s"
            for p, r in zip(self.processor_s, self.raw_s, strict=True)
        )
        return (
            f"{self.events} events ({self.source_events} real events of the namespace, copied "
            f"with fresh ids), one 6-partition topic; read-model keys written: {self.keys}\n"
            f"runs: {runs}\n"
            f"read-model processor (best of {len(self.processor_s)}): {best:,.0f} events/s "
            f"({min(self.processor_s):.2f} s)\n"
            f"raw consume + fastavro decode (best of {len(self.raw_s)}): {raw:,.0f} events/s "
            f"({min(self.raw_s):.2f} s)\n"
            f"processor/raw: {best / raw:.0%}; the best processor run applied "
            f"{self.batches} batches ({self.events / max(1, self.batches):,.0f} events each)\n"
            "where the time goes, CPU µs per event (best of 3 passes over "
            f"{STAGE_EVENTS:,} of the messages, in memory): "
            + ", ".join(f"{k} {v:.1f}" for k, v in self.stages.items())
        )


def run_bench(
    settings: Settings, *, events: int, runs: int = 3, profile: bool = False
) -> WorkerBench:
    topics = settings.topics()
    source = source_items(settings)
    if not source:
        raise RuntimeError(
            f"no events in the {topics.namespace}.* topics to copy: run `lis demo` first"
        )
    run = uuid.uuid4().hex[:8]
    topic = f"{topics.namespace}.bench.worker.{run}"
    ensure_topics(settings.kafka_bootstrap, topics, [topic])
    client = redis_client(settings.redis_url)
    result = WorkerBench(events=events, source_events=len(source))
    try:
        ids = SchemaIds(registry_client(settings.schema_registry_url), topic_for=lambda _c: topic)
        write_events(
            settings.kafka_bootstrap,
            copies(source, events),
            topic_for=lambda _name: topic,
            schema_id_for=ids.id_for,
        )
        result.stages = stages(settings, topic, client)
        for i in range(runs):
            raw_group = settings.topics().group(f"bench-raw-{run}-{i}")
            result.raw_s.append(raw_loop(settings, topic, events, raw_group))
            prefix = f"bench:{run}:{i}:"
            try:
                elapsed, keys, batches = processor_loop(
                    settings, topic, events, f"bench-worker-{run}-{i}", prefix, profile
                )
                if not result.processor_s or elapsed < min(result.processor_s):
                    result.batches = batches
                result.processor_s.append(elapsed)
                result.keys = keys
            finally:
                clear(client, prefix)
    finally:
        client.close()
        AdminClient({"bootstrap.servers": settings.kafka_bootstrap}).delete_topics([topic])
    return result


STAGE_EVENTS = 20_000


def stages(settings: Settings, topic: str, client: redis.Redis[bytes]) -> dict[str, float]:
    """Each step of the processor, timed alone on the same messages (CPU time of this process;
    Redis's own time from its command statistics, EVALSHA's microseconds before and after)."""
    group = settings.topics().group(f"bench-stages-{uuid.uuid4().hex[:8]}")
    consumer = Consumer(consumer_config(settings.kafka_bootstrap, group))
    consumer.subscribe([topic])
    messages: list[Message] = []
    try:
        while len(messages) < STAGE_EVENTS:
            messages += [m for m in consumer.consume(5000, 1.0) if m.error() is None]
    finally:
        consumer.close()
    messages = messages[:STAGE_EVENTS]
    decoder = RegistryDecoder(settings.schema_registry_url)
    store = RedisReadModelStore(client, f"bench:stages:{uuid.uuid4().hex[:6]}:")
    best: dict[str, float] = {}

    def timed(name: str, started: float) -> None:
        spent = (time.process_time() - started) / len(messages) * 1e6
        best[name] = min(best.get(name, spent), spent)

    for _ in range(3):
        started = time.process_time()
        for msg in messages:  # what the raw loop does
            schema_id, body = unframe(msg.value() or b"")
            fastavro.schemaless_reader(io.BytesIO(body), decoder.writer_schema(schema_id))
        timed("raw decode", started)
        started = time.process_time()
        records = []
        for msg in messages:
            decoded = decoder.decode(msg.value())
            checked_event_id(decoded.record, header(msg, "event_id"))
            records.append((decoded.schema_name, decoded.record))
        timed("decode+check", started)
        started = time.process_time()
        ops = [project(name, record) for name, record in records]
        timed("project", started)
        started = time.process_time()
        batches = [
            coalesce(o for e in ops[i : i + 2000] for o in e) for i in range(0, len(ops), 2000)
        ]
        timed("coalesce", started)
        started = time.process_time()
        for batch in batches:
            json.dumps(batch, separators=(",", ":"))
        timed("json", started)
        before = _evalsha_usec(client)
        for batch in batches:
            store.apply(batch)
        spent = (_evalsha_usec(client) - before) / len(messages)
        best["redis (server)"] = min(best.get("redis (server)", spent), spent)
        clear(client, store.prefix)
    return best


def _evalsha_usec(client: redis.Redis[bytes]) -> float:
    stats: Mapping[str, Any] = client.info("commandstats")
    return float(stats.get("cmdstat_evalsha", {}).get("usec", 0))


def source_items(settings: Settings) -> list[Item]:
    """Every read-model event of the namespace, decoded onto today's schemas."""
    topics = settings.topics()
    wanted = [topics.for_aggregate(a) for a in AGGREGATES]
    ends = {
        (tp.topic, tp.partition): tp.offset for tp in watermarks(settings.kafka_bootstrap, wanted)
    }
    todo = [
        tp
        for tp in watermarks(settings.kafka_bootstrap, wanted, end=False)
        if ends[(tp.topic, tp.partition)] > tp.offset
    ]
    decoder, codec = RegistryDecoder(settings.schema_registry_url), default_codec()
    known = event_classes()
    items: list[Item] = []
    consumer = Consumer(
        {
            "bootstrap.servers": settings.kafka_bootstrap,
            "group.id": "lis-bench-source",
            "enable.auto.commit": False,
            "enable.partition.eof": True,
        }
    )
    remaining = {(tp.topic, tp.partition) for tp in todo}
    try:
        if todo:
            consumer.assign(todo)
        while remaining:
            for msg in consumer.consume(5000, 1.0):
                where = (str(msg.topic()), int(msg.partition() or 0))
                if (err := msg.error()) is not None:
                    if err.code() == KafkaError._PARTITION_EOF:
                        remaining.discard(where)
                    continue
                if int(msg.offset() or 0) + 1 >= ends[where]:
                    remaining.discard(where)
                try:
                    decoded = decoder.decode(msg.value())
                except Exception:  # noqa: S112 - poison is no benchmark material
                    continue
                if decoded.schema_name not in known:
                    continue
                reader = codec.parsed_schema(decoded.schema_name)
                record = fastavro.schemaless_reader(
                    io.BytesIO(decoded.body), decoded.writer_schema, reader
                )
                if isinstance(record, dict):
                    items.append((decoded.schema_name, record))
    finally:
        consumer.close()
    return items


def raw_loop(settings: Settings, topic: str, events: int, group: str) -> float:
    """Consume and decode every message; seconds from the first message to the last."""
    consumer = Consumer(consumer_config(settings.kafka_bootstrap, group))
    consumer.subscribe([topic])
    schemas: dict[int, Any] = {}
    decoder = RegistryDecoder(settings.schema_registry_url)
    done, first = 0, 0.0
    try:
        while done < events:
            messages = consumer.consume(2000, 1.0)
            if messages and not first:
                first = time.monotonic()
            for msg in messages:
                if msg.error() is not None:
                    continue
                schema_id, body = unframe(msg.value() or b"")
                schema = schemas.get(schema_id) or schemas.setdefault(
                    schema_id, decoder.writer_schema(schema_id)
                )
                fastavro.schemaless_reader(io.BytesIO(body), schema)
                done += 1
        return time.monotonic() - first
    finally:
        consumer.close()


def processor_loop(
    settings: Settings, topic: str, events: int, name: str, prefix: str, profile: bool
) -> tuple[float, int, int]:
    """The read-model worker on the topic, on this thread, until every event is applied."""
    client = redis_client(settings.redis_url)
    handler = ReadModelHandler(settings.topics(), RedisReadModelStore(client, prefix), name)
    handler.topics = [topic]
    worker = BatchConsumer(
        handler,
        bootstrap=settings.kafka_bootstrap,
        topics=settings.topics(),
        decoder=RegistryDecoder(settings.schema_registry_url),
    )
    finished: list[float] = []

    def watch() -> None:
        while worker.applied + worker.dead_lettered < events:
            time.sleep(0.002)
        finished.append(time.monotonic())
        worker.stop()

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    _run(worker, profile)
    watcher.join()
    if worker.dead_lettered:
        raise RuntimeError(f"{worker.dead_lettered} benchmark events were dead-lettered")
    keys = sum(1 for _ in client.scan_iter(match=f"{prefix}*", count=5000))
    client.close()
    assert worker.first_message_at is not None
    return finished[0] - worker.first_message_at, keys, worker.batches


def _run(worker: BatchConsumer, profile: bool) -> None:
    if not profile:
        worker.run()
        return
    from pyinstrument import Profiler  # the consumer's thread: decode, project, coalesce

    profiler = Profiler(interval=0.0005)
    profiler.start()
    try:
        worker.run()
    finally:
        profiler.stop()
        print(profiler.output_text(unicode=True, color=False), file=sys.stderr)
