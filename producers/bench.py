"""`lis bench relay`: outbox relay throughput against a raw producer sending the same bytes.

Both sides use ``producer_config`` and the same framed values, keys and headers, each to its
own fresh 6-partition topic. The relay is timed from its first query until the outbox is
empty (fetch, produce, flush, delete, commit); the raw producer from its first ``produce``
to the end of ``flush``. Set-up (encoding, COPY into a fresh database) is not timed.
"""

from __future__ import annotations

import json
import sys
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import psycopg
from confluent_kafka import KafkaError, Message, Producer
from confluent_kafka.admin import AdminClient
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from domains.sample.events import SampleCollected
from domains.shared.messages import Command, stamp
from infra.db.migrate import upgrade
from infra.settings import Settings
from producers.avro_codec import encode, frame
from producers.kafka_config import producer_config
from producers.registry import SchemaIds, registry_client
from producers.relay import Relay, libpq_url
from producers.topics import ensure_topics

Row = tuple[str, str, bytes, dict[str, str]]  # key, event_id, Avro body, headers

_COLUMNS = (
    "event_id, organization_id, aggregate_type, aggregate_id, aggregate_version, event_type, "
    "topic, key, headers, schema_name, payload"
)


@dataclass
class BenchResult:
    events: int
    payload_bytes: float
    relay_s: float
    raw_s: float
    relay_phases: dict[str, float]

    def summary(self) -> str:
        relay, raw = self.events / self.relay_s, self.events / self.raw_s
        return (
            f"{self.events} events, {self.payload_bytes:.0f} B Avro body on average\n"
            f"relay: {relay:,.0f} events/s ({self.relay_s:.2f} s)\n"
            f"raw producer: {raw:,.0f} events/s ({self.raw_s:.2f} s)\n"
            f"relay/raw: {relay / raw:.0%}\n"
            + "relay time by phase: "
            + ", ".join(f"{k} {v:.2f} s" for k, v in self.relay_phases.items())
        )


def make_rows(events: int, aggregates: int) -> list[Row]:
    """SAMPLE_COLLECTED events of real shape (~300 B), round-robin over ``aggregates`` keys."""
    cmd = Command(organization_id="org-bench-lab-0001", user_id="phlebotomist-0042")
    base = datetime(2026, 11, 22, 7, 30, tzinfo=UTC)
    sample_ids = [str(uuid.uuid4()) for _ in range(aggregates)]
    rows: list[Row] = []
    for i in range(events):
        sample_id = sample_ids[i % aggregates]
        event = SampleCollected(
            sample_id=sample_id,
            order_id=str(uuid.uuid4()),
            patient_id=str(uuid.uuid4()),
            accession_number=f"ACC-2026-{i:08d}",
            specimen_type="serum" if i % 3 else "whole_blood",
            container="SST gold top 5 mL" if i % 3 else "EDTA lavender top 4 mL",
            priority="STAT" if i % 10 == 0 else "ROUTINE",
            collected_at=base + timedelta(seconds=i),
            loinc_codes=["2345-7", "2160-0", "718-7", "6690-2"][: 1 + i % 4],
            collected_by="phlebotomist-0042",
        )
        env = stamp(
            event, aggregate_id=sample_id, aggregate_version=1 + i // aggregates, command=cmd
        )
        _, body = encode(env)
        meta = env.metadata
        headers = {
            "event_type": meta.event_type,
            "event_id": meta.event_id,
            "correlation_id": meta.correlation_id,
            "causation_id": meta.causation_id,
        }
        rows.append((sample_id, meta.event_id, body, headers))
    return rows


def copy_into_outbox(database_url: str, topic: str, rows: list[Row], aggregates: int) -> None:
    with (
        psycopg.connect(libpq_url(database_url)) as conn,
        conn.cursor() as cur,
        cur.copy(f"COPY outbox ({_COLUMNS}) FROM STDIN") as copy,
    ):
        for i, (key, event_id, body, headers) in enumerate(rows):
            copy.write_row(
                    (event_id, "org-bench-lab-0001", "Sample", key, 1 + i // aggregates,
                     "SAMPLE_COLLECTED", topic, key, json.dumps(headers),
                     "lis.sample.SampleCollected", body)
                )  # fmt: skip


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
    settings: Settings, *, events: int, batch_size: int = 5000, profile: bool = False
) -> BenchResult:
    run = uuid.uuid4().hex[:8]
    relay_topic, raw_topic = f"bench.relay.{run}", f"bench.raw.{run}"
    aggregates = max(1, events // 10)
    rows = make_rows(events, aggregates)
    ensure_topics(settings, [relay_topic, raw_topic])
    ids = SchemaIds(
        registry_client(settings.schema_registry_url),
        events=[SampleCollected],
        topic_for=lambda _cls: relay_topic,
    )
    schema_id = ids.id_for("lis.sample.SampleCollected")
    admin_url = make_url(settings.database_url).set(database="postgres")
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    db_name = f"lis_bench_{run}"
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{db_name}"'))
    db_url = make_url(settings.database_url).set(database=db_name)
    database_url = db_url.render_as_string(hide_password=False)
    try:
        upgrade(database_url)
        copy_into_outbox(database_url, relay_topic, rows, aggregates)
        config = producer_config(settings)
        relay = Relay(
            database_url, config, lambda _t, _s: schema_id, batch_size=batch_size, listen=False
        )
        relay_s = _timed_drain(relay, events, profile)
        phases = dict(relay.seconds)
        values = [frame(schema_id, body) for _, _, body, _ in rows]
        raw_s = produce_raw(config, raw_topic, values, rows)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{db_name}" WITH (FORCE)'))
        admin.dispose()
        AdminClient({"bootstrap.servers": settings.kafka_bootstrap}).delete_topics(
            [relay_topic, raw_topic]
        )
    size = sum(len(r[2]) for r in rows) / len(rows)
    return BenchResult(events, size, relay_s, raw_s, phases)


def _timed_drain(relay: Relay, expected: int, profile: bool) -> float:
    profiler = None
    if profile:
        from pyinstrument import Profiler

        profiler = Profiler(interval=0.0005)
        profiler.start()
    start = time.perf_counter()
    published = relay.drain()
    elapsed = time.perf_counter() - start
    relay.close()
    if profiler is not None:
        profiler.stop()
        print(profiler.output_text(unicode=True, color=False), file=sys.stderr)
    if published != expected:
        raise RuntimeError(f"relay published {published} of {expected} events")
    return elapsed
