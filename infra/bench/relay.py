"""`lis bench relay`: outbox relay throughput against a raw producer sending the same bytes.

Both sides use ``producer_config`` and the same framed values, keys and headers, each to its
own fresh 6-partition topic. The relay runs exactly as ``lis relay --workers N`` does
(``relay_workers``, the registry resolving each row's writer fingerprint), timed from the
start signal to its warmed-up workers until the outbox is empty (fetch, produce, flush,
delete); the raw producer from its first ``produce`` to the end of ``flush``. Set-up (encoding,
a fresh database per run, COPY) is not timed. Runs alternate relay and raw, so both sides see
the same machine load; the summary shows every run and the best of each side.
"""

from __future__ import annotations

import sys
import time
import uuid
from dataclasses import dataclass, field
from functools import partial

from confluent_kafka import KafkaError, Message, Producer
from confluent_kafka.admin import AdminClient

from domains.sample.events import SampleCollected
from infra.bench.relay_data import SCHEMA, Row, copy_into_outbox, make_rows
from infra.config.settings import Settings
from infra.db.migrate import scratch_database
from producers import relay_workers
from producers.kafka_config import producer_config
from producers.relay import Relay
from producers.topics import ensure_topics
from schemas.avro_codec import frame
from schemas.registry import SchemaIds, registry_client
from schemas.writer_schemas import WriterSchemaIds

__all__ = ["BenchResult", "Row", "copy_into_outbox", "make_rows", "produce_raw", "run_bench"]


@dataclass
class BenchResult:
    events: int
    payload_bytes: float
    workers: int
    relay_s: list[float] = field(default_factory=list)
    raw_s: list[float] = field(default_factory=list)
    relay_phases: dict[str, float] = field(default_factory=dict)  # of the best relay run

    def summary(self) -> str:
        relay, raw = self.events / min(self.relay_s), self.events / min(self.raw_s)
        runs = "  ".join(
            f"relay {self.events / a:,.0f}/s raw {self.events / b:,.0f}/s"
            for a, b in zip(self.relay_s, self.raw_s, strict=True)
        )
        return (
            f"{self.events} events, {self.payload_bytes:.0f} B Avro body on average, "
            f"relay workers: {self.workers}\n"
            f"runs: {runs}\n"
            f"relay (best of {len(self.relay_s)}): {relay:,.0f} events/s "
            f"({min(self.relay_s):.2f} s)\n"
            f"raw producer (best of {len(self.raw_s)}): {raw:,.0f} events/s "
            f"({min(self.raw_s):.2f} s)\n"
            f"relay/raw: {relay / raw:.0%}\n"
            + "best relay run, time by phase (summed over workers): "
            + ", ".join(f"{k} {v:.2f} s" for k, v in self.relay_phases.items())
        )


def bench_relay(
    database_url: str,
    registry_url: str,
    bootstrap: str,
    topic: str,
    batch_size: int,
    worker: int,
    workers: int,
) -> Relay:
    """The benchmark's relay worker (built in the worker process, hence module level)."""
    client = registry_client(registry_url)
    ids = SchemaIds(client, topic_for=lambda _cls: topic, events=[SampleCollected])
    return Relay(
        database_url,
        producer_config(bootstrap),
        WriterSchemaIds(ids, client),
        batch_size=batch_size,
        listen=False,
        worker=worker,
        workers=workers,
    )


def produce_raw(
    config: dict[str, object], topic: str, values: list[bytes], rows: list[Row]
) -> float:
    failures: list[KafkaError] = []

    def on_delivery(err: KafkaError | None, _msg: Message) -> None:
        if err is not None:
            failures.append(err)

    producer = Producer({**config, "on_delivery": on_delivery})
    producer.list_topics(topic, timeout=10)  # connect first, as the relay's first batch does
    start = time.perf_counter()
    for value, (key, _, _, headers) in zip(values, rows, strict=True):
        hdrs: list[tuple[str, str | bytes | None]] = [(k, v.encode()) for k, v in headers.items()]
        while True:
            try:
                producer.produce(topic, value, key, headers=hdrs)
                break
            except BufferError:
                producer.poll(0.05)
    if producer.flush(120) or failures:
        raise RuntimeError(f"raw producer failed: {failures[:1]}")
    return time.perf_counter() - start


def run_bench(
    settings: Settings,
    *,
    events: int,
    batch_size: int = 5000,
    workers: int = relay_workers.DEFAULT_WORKERS,
    runs: int = 3,
    profile: bool = False,
) -> BenchResult:
    run = uuid.uuid4().hex[:8]
    aggregates = max(1, events // 10)
    rows = make_rows(events, aggregates)
    result = BenchResult(events, sum(len(r[2]) for r in rows) / len(rows), workers)
    relay_topic = f"bench.relay.{run}"  # one topic (one subject) for every relay run
    raw_topics = [f"bench.raw.{run}.{i}" for i in range(runs)]
    ensure_topics(settings.kafka_bootstrap, settings.topics(), [relay_topic, *raw_topics])
    client = registry_client(settings.schema_registry_url)
    ids = SchemaIds(client, topic_for=lambda _cls: relay_topic, events=[SampleCollected])
    values = [frame(ids.id_for(SCHEMA), body) for _, _, body, _ in rows]
    config = producer_config(settings.kafka_bootstrap)
    for i in range(runs):
        with scratch_database(settings.database_url, f"lis_bench_{run}_{i}") as database_url:
            copy_into_outbox(database_url, relay_topic, rows, aggregates)
            factory = partial(
                bench_relay, database_url, settings.schema_registry_url,
                settings.kafka_bootstrap, relay_topic, batch_size,
            )  # fmt: skip
            report = _timed_drain(factory, workers, profile)
            if report.published != events:
                raise RuntimeError(f"relay published {report.published} of {events}")
            if not result.relay_s or report.wall_s < min(result.relay_s):
                result.relay_phases = report.seconds
            result.relay_s.append(report.wall_s)
        result.raw_s.append(produce_raw(config, raw_topics[i], values, rows))
        AdminClient({"bootstrap.servers": settings.kafka_bootstrap}).delete_topics(
            [relay_topic, *raw_topics]
        )
    return result


def _timed_drain(
    factory: relay_workers.RelayFactory, workers: int, profile: bool
) -> relay_workers.DrainReport:
    if not profile:
        return relay_workers.drain(factory, workers)
    from pyinstrument import Profiler  # profiles this process: the in-process single worker

    profiler = Profiler(interval=0.0005)
    profiler.start()
    try:
        return relay_workers.drain(factory, workers)
    finally:
        profiler.stop()
        print(profiler.output_text(unicode=True, color=False), file=sys.stderr)
