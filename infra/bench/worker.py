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
import sys
import threading
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

import fastavro
from confluent_kafka import Consumer
from confluent_kafka.admin import AdminClient

from consumers.batch import BatchConsumer
from consumers.kafka_config import consumer_config
from consumers.read_models.handler import ReadModelHandler
from infra.bench.worker_data import copies, source_items, write_events
from infra.bench.worker_stages import STAGE_EVENTS, stages
from infra.config.settings import Settings
from infra.redis.store import RedisReadModelStore, redis_client
from infra.redis.views import clear
from producers.topics import ensure_topics
from schemas.avro_codec import unframe
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
