"""`lis bench replay`: replay's decode rate beside a raw consumer decoding the same messages.

Set-up (not timed): N SAMPLE_COLLECTED events of real shape, framed with their registered
schema id, written once to a fresh topic of the namespace (6 partitions, murmur2 keys), which
is deleted at the end.

Both sides read every message of the topic in W processes (partitions dealt round-robin), with
the same consumer settings (``consumers.replay.replay_consumer``):
- replay: ``consumers.replay.replay`` exactly as ``lis replay`` runs it (plan, header filter,
  ``RegistryDecoder`` with the schema from the registry, resolution to today's reader schema),
  minus writing the output;
- raw: ``consume()`` and ``fastavro.schemaless_reader`` with the schema parsed once, nothing
  else.
Timed from a shared start (a barrier after each process has connected) to the last process's
end; runs alternate the two sides so both see the same machine load.
"""

from __future__ import annotations

import io
import multiprocessing
import time
import uuid
from dataclasses import dataclass, field
from itertools import cycle, islice
from multiprocessing.synchronize import Barrier

import fastavro
from confluent_kafka import KafkaError, Producer
from confluent_kafka.admin import AdminClient

from consumers.replay import ReplaySpec, replay, replay_consumer
from domains.sample.events import SampleCollected
from infra.bench.relay_data import SCHEMA, make_rows
from infra.config.settings import Settings
from producers.kafka_config import producer_config
from producers.topics import ensure_topics
from schemas.avro_codec import committed_schema, current_schema, frame, unframe
from schemas.decoder import RegistryDecoder
from schemas.registry import SchemaIds, registry_client

_spawn = multiprocessing.get_context("spawn")  # never fork a process holding sockets/threads
_POOL = 20_000  # distinct events; the topic repeats them (decoding costs the same)


@dataclass
class ReplayBenchResult:
    events: int
    workers: int
    replay_s: list[float] = field(default_factory=list)
    raw_s: list[float] = field(default_factory=list)

    def summary(self) -> str:
        best_replay, best_raw = min(self.replay_s), min(self.raw_s)
        replay_rate, raw_rate = self.events / best_replay, self.events / best_raw
        runs = "  ".join(
            f"replay {self.events / a:,.0f}/s raw {self.events / b:,.0f}/s"
            for a, b in zip(self.replay_s, self.raw_s, strict=True)
        )
        return (
            f"{self.events} events (SAMPLE_COLLECTED, 6 partitions), {self.workers} processes "
            "per side\n"
            f"runs: {runs}\n"
            f"replay, decoded via the registry (best of {len(self.replay_s)}): "
            f"{replay_rate:,.0f} events/s ({best_replay:.2f} s)\n"
            f"raw consumer + fastavro (best of {len(self.raw_s)}): "
            f"{raw_rate:,.0f} events/s ({best_raw:.2f} s)\n"
            f"replay/raw: {replay_rate / raw_rate:.0%}"
        )


def write_topic(settings: Settings, topic: str, events: int) -> None:
    """``events`` framed SAMPLE_COLLECTED messages (a pool of distinct ones, repeated)."""
    client = registry_client(settings.schema_registry_url)
    ids = SchemaIds(client, topic_for=lambda _cls: topic, events=[SampleCollected])
    schema_id = ids.id_for(SCHEMA)
    rows = make_rows(min(events, _POOL), max(1, min(events, _POOL) // 10))
    failures: list[KafkaError] = []

    def on_delivery(err: KafkaError | None, _msg: object) -> None:
        if err is not None:
            failures.append(err)

    producer = Producer({**producer_config(settings.kafka_bootstrap), "on_delivery": on_delivery})
    for key, _event_id, body, headers in islice(cycle(rows), events):
        value = frame(schema_id, body)
        hdrs: list[tuple[str, str | bytes | None]] = [(k, v.encode()) for k, v in headers.items()]
        while True:
            try:
                producer.produce(topic, value, key, headers=hdrs)
                break
            except BufferError:
                producer.poll(0.05)
    if producer.flush(300) or failures:
        raise RuntimeError(f"writing the benchmark topic failed: {failures[:1]}")


def _replay_side(
    bootstrap: str, registry_url: str, topic: str, parts: frozenset[int], start: Barrier
) -> tuple[float, float, int]:
    decoder = RegistryDecoder(registry_url, reader_for=current_schema)
    spec = ReplaySpec(topics=(topic,), partitions=parts)
    start.wait()
    began = time.monotonic()
    count = sum(1 for _ in replay(bootstrap, decoder, spec))
    return began, time.monotonic(), count


def _raw_side(
    bootstrap: str, _registry_url: str, topic: str, parts: frozenset[int], start: Barrier
) -> tuple[float, float, int]:
    from confluent_kafka import TopicPartition

    schema = fastavro.parse_schema(committed_schema(SampleCollected), named_schemas={})
    consumer = replay_consumer(bootstrap)
    ends = {
        p: consumer.get_watermark_offsets(TopicPartition(topic, p), timeout=10)[1] for p in parts
    }
    todo = {p for p, end in ends.items() if end > 0}
    start.wait()
    began = time.monotonic()
    consumer.assign([TopicPartition(topic, p, 0) for p in todo])
    count = 0
    reader = fastavro.schemaless_reader
    while todo:
        for msg in consumer.consume(1000, timeout=1.0):
            if msg.error() is not None:
                continue
            _schema_id, body = unframe(msg.value() or b"")
            reader(io.BytesIO(body), schema, schema)
            count += 1
            partition = msg.partition() or 0
            if (msg.offset() or 0) + 1 >= ends[partition]:
                todo.discard(partition)
    consumer.close()
    return began, time.monotonic(), count


def _worker(
    side: str, args: tuple[str, str, str, frozenset[int]], start: Barrier, out: object
) -> None:
    run = _replay_side if side == "replay" else _raw_side
    out.put(run(*args, start))  # type: ignore[attr-defined]


def _timed(
    side: str, settings: Settings, topic: str, workers: int, partitions: int
) -> tuple[float, int]:
    shares = [frozenset(range(w, partitions, workers)) for w in range(workers)]
    start = _spawn.Barrier(workers)
    results = _spawn.Queue()
    procs = [
        _spawn.Process(
            target=_worker,
            args=(
                side,
                (settings.kafka_bootstrap, settings.schema_registry_url, topic, share),
                start,
                results,
            ),
        )
        for share in shares
    ]
    for p in procs:
        p.start()
    done = [results.get(timeout=900) for _ in procs]
    for p in procs:
        p.join()
    began, ended = min(d[0] for d in done), max(d[1] for d in done)
    return ended - began, sum(d[2] for d in done)


def run_bench(settings: Settings, *, events: int, workers: int, runs: int) -> ReplayBenchResult:
    topic = f"{settings.topic_namespace}.bench.replay.{uuid.uuid4().hex[:8]}"
    topics = settings.topics()
    ensure_topics(settings.kafka_bootstrap, topics, [topic])
    result = ReplayBenchResult(events, workers)
    try:
        write_topic(settings, topic, events)
        for _ in range(runs):
            for side, times in (("replay", result.replay_s), ("raw", result.raw_s)):
                seconds, count = _timed(side, settings, topic, workers, topics.partitions)
                if count != events:
                    raise RuntimeError(f"{side} read {count} of {events} events")
                times.append(seconds)
    finally:
        admin = AdminClient({"bootstrap.servers": settings.kafka_bootstrap})
        for future in admin.delete_topics([topic]).values():
            future.result(60)  # wait: a process that exits first never sends the request
    return result
