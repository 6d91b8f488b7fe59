"""The outbox relay against real Postgres, Kafka and the registry: commit order, wire format."""

from __future__ import annotations

import io
import json
import threading
import time
import uuid
from collections.abc import Callable
from typing import Any

import fastavro
import psycopg
import pytest
from confluent_kafka import Consumer, DeserializingConsumer, TopicPartition
from confluent_kafka.schema_registry import Schema, SchemaRegistryClient
from confluent_kafka.schema_registry.avro import AvroDeserializer
from confluent_kafka.serialization import StringDeserializer

from infra.config.settings import Settings
from producers.kafka_config import producer_config
from producers.relay import Relay, libpq_url
from producers.topics import ensure_topics
from schemas.avro_codec import unframe

pytestmark = pytest.mark.integration

PING = {
    "type": "record",
    "name": "lis.test.Ping",
    "fields": [
        {"name": "event_id", "type": "string"},
        {"name": "aggregate_id", "type": "string"},
        {"name": "aggregate_version", "type": "long"},
    ],
}
PARSED_PING = fastavro.parse_schema(PING)


def register_ping(settings: Settings, topic: str) -> int:
    client = SchemaRegistryClient({"url": settings.schema_registry_url, "timeout": 10})
    return int(client.register_schema(f"{topic}-lis.test.Ping", Schema(json.dumps(PING), "AVRO")))


def ping_body(event_id: str, aggregate_id: str, version: int) -> bytes:
    buf = io.BytesIO()
    record = {"event_id": event_id, "aggregate_id": aggregate_id, "aggregate_version": version}
    fastavro.schemaless_writer(buf, PARSED_PING, record)
    return buf.getvalue()


def read_ping(value: bytes) -> dict[str, Any]:
    _, body = unframe(value)
    record = fastavro.schemaless_reader(io.BytesIO(body), PARSED_PING, None)
    assert isinstance(record, dict)
    return record


_INSERT = (
    "INSERT INTO outbox (event_id, organization_id, aggregate_type, aggregate_id,"
    " aggregate_version, event_type, topic, key, headers, schema_name, payload)"
    " VALUES (%s, 'org-1', 'Ping', %s, %s, 'PINGED', %s, %s, %s, 'lis.test.Ping', %s)"
)


def ping_params(topic: str, aggregate_id: str, version: int) -> tuple[Any, ...]:
    event_id = str(uuid.uuid4())
    headers = {"event_type": "PINGED", "event_id": event_id, "correlation_id": "c-1",
               "causation_id": "cmd-1"}  # fmt: skip
    body = ping_body(event_id, aggregate_id, version)
    return (event_id, aggregate_id, version, topic, aggregate_id, json.dumps(headers), body)


def insert_ping(conn: psycopg.Connection[Any], topic: str, aggregate_id: str, version: int) -> str:
    params = ping_params(topic, aggregate_id, version)
    conn.execute(_INSERT, params)
    return str(params[0])


def insert_pings(conn: psycopg.Connection[Any], params: list[tuple[Any, ...]]) -> None:
    with conn.cursor() as cur:
        cur.executemany(_INSERT, params)


def high_watermarks(settings: Settings, topic: str) -> int:
    """How many messages the topic holds (its partitions start at offset 0)."""
    probe = Consumer({"bootstrap.servers": settings.kafka_bootstrap, "group.id": "t-probe"})
    try:
        parts = probe.list_topics(topic, timeout=10).topics[topic].partitions
        return sum(
            probe.get_watermark_offsets(TopicPartition(topic, p), timeout=10)[1] for p in parts
        )
    finally:
        probe.close()


def consume_all(settings: Settings, topic: str, expected: int, timeout: float = 60) -> list[Any]:
    """Every message of the topic: at least ``expected``, and all the topic holds by then."""
    consumer = Consumer(
        {
            "bootstrap.servers": settings.kafka_bootstrap,
            "group.id": f"t-read-{uuid.uuid4().hex}",
            "auto.offset.reset": "earliest",
            "enable.auto.commit": False,
        }
    )
    consumer.subscribe([topic])
    messages: list[Any] = []
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            messages += [m for m in consumer.consume(1000, timeout=0.5) if m.error() is None]
            if len(messages) >= expected and len(messages) >= high_watermarks(settings, topic):
                break
    finally:
        consumer.close()
    return messages


@pytest.fixture
def ping_topic(stack: Settings, unique_name: Callable[[str], str]) -> tuple[str, int]:
    topic = unique_name("t.relay")
    ensure_topics(stack.kafka_bootstrap, stack.topics(), [topic])
    return topic, register_ping(stack, topic)


def make_relay(settings: Settings, database_url: str, schema_id: int, **kw: Any) -> Relay:
    return Relay(
        database_url, producer_config(settings.kafka_bootstrap), lambda _t, _s, _f: schema_id, **kw
    )


def drain_until(relay: Relay, expected: int, timeout: float = 30) -> int:
    """``relay.drain()`` until ``expected`` rows went out. Transaction ids are cluster-wide, so
    a transaction open in another database (a concurrent test) holds every relay back a while;
    a drain that meets one publishes less, not wrongly."""
    total, deadline = 0, time.monotonic() + timeout
    while total < expected and time.monotonic() < deadline:
        total += relay.drain()
        if total < expected:
            time.sleep(0.05)
    return total


def drain_outbox(relay: Relay, database_url: str, timeout: float = 60) -> int:
    """``relay.drain()`` until the outbox is empty (see ``drain_until``); the count published."""
    total, deadline = 0, time.monotonic() + timeout
    with psycopg.connect(libpq_url(database_url), autocommit=True) as conn:
        while True:
            total += relay.drain()
            left = conn.execute("SELECT count(*) FROM outbox").fetchone()[0]  # type: ignore[index]
            if not left:
                return total
            assert time.monotonic() < deadline, f"{left} outbox rows never published"
            time.sleep(0.05)


def test_a_transaction_that_commits_late_is_published_not_skipped(
    stack: Settings, fresh_database_url: str, ping_topic: tuple[str, int]
) -> None:
    topic, schema_id = ping_topic
    url = libpq_url(fresh_database_url)
    relay = make_relay(stack, fresh_database_url, schema_id, listen=False)
    with psycopg.connect(url) as tx_a, psycopg.connect(url, autocommit=True) as tx_b:
        early = insert_ping(tx_a, topic, "agg-a", 1)  # A: written first, still open
        late = insert_ping(tx_b, topic, "agg-b", 1)  # B: written after A, committed
        # B committed, but A (older transaction id) still runs: B waits with it, so no
        # reader position can move past A.
        assert relay.run_once() == 0
        tx_a.commit()
    assert drain_until(relay, 2) == 2
    relay.close()
    values = [m.value() for m in consume_all(stack, topic, expected=2)]
    assert sorted(read_ping(v)["event_id"] for v in values) == sorted([early, late])
    with psycopg.connect(url) as conn:
        assert conn.execute("SELECT count(*) FROM outbox").fetchone() == (0,)


def test_published_message_carries_key_headers_and_confluent_frame(
    stack: Settings, fresh_database_url: str, ping_topic: tuple[str, int]
) -> None:
    topic, schema_id = ping_topic
    with psycopg.connect(libpq_url(fresh_database_url), autocommit=True) as conn:
        event_id = insert_ping(conn, topic, "agg-7", 3)
    relay = make_relay(stack, fresh_database_url, schema_id, listen=False)
    assert drain_until(relay, 1) == 1
    relay.close()
    (msg,) = consume_all(stack, topic, expected=1)
    assert msg.key() == b"agg-7"
    assert unframe(msg.value())[0] == schema_id
    assert dict(msg.headers()) == {
        "event_type": b"PINGED", "event_id": event_id.encode(),
        "correlation_id": b"c-1", "causation_id": b"cmd-1",
    }  # fmt: skip


def wait_until_listening(conn: psycopg.Connection[Any], timeout_s: float = 30) -> None:
    """Until a session of this database has run LISTEN outbox (seen by the server itself, so a
    busy machine that starts the relay late cannot make the NOTIFY arrive before the LISTEN)."""
    deadline = time.monotonic() + timeout_s
    sql = (
        "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
        " AND query = 'LISTEN outbox' AND pid <> pg_backend_pid()"
    )
    while not conn.execute(sql).fetchone()[0]:  # type: ignore[index]
        assert time.monotonic() < deadline, "the relay never started listening"
        time.sleep(0.1)


def test_notify_wakes_the_relay_long_before_its_poll_interval(
    stack: Settings, fresh_database_url: str, ping_topic: tuple[str, int]
) -> None:
    topic, schema_id = ping_topic
    relay = make_relay(stack, fresh_database_url, schema_id, poll_interval=60.0)
    worker = threading.Thread(target=relay.run)
    worker.start()
    try:
        with psycopg.connect(libpq_url(fresh_database_url), autocommit=True) as conn:
            wait_until_listening(conn)  # the relay found nothing and now listens
            insert_ping(conn, topic, "agg-n", 1)
        deadline = time.monotonic() + 10
        while relay.published == 0 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert relay.published == 1
    finally:
        relay.stop()
        worker.join(timeout=70)


def test_stock_deserializing_consumer_reads_what_the_relay_published(
    stack: Settings, fresh_database_url: str, unique_name: Callable[[str], str]
) -> None:
    from infra.bench.relay import copy_into_outbox, make_rows
    from schemas.registry import SchemaIds, registry_client
    from schemas.writer_schemas import WriterSchemaIds

    topic = unique_name("t.relay.stock")
    ensure_topics(stack.kafka_bootstrap, stack.topics(), [topic])
    client = registry_client(stack.schema_registry_url)
    ids = WriterSchemaIds(SchemaIds(client, topic_for=lambda _c: topic), client)
    rows = make_rows(20, aggregates=4)
    copy_into_outbox(fresh_database_url, topic, rows, aggregates=4)
    relay = Relay(fresh_database_url, producer_config(stack.kafka_bootstrap), ids)
    assert drain_until(relay, 20) == 20
    relay.close()

    consumer = DeserializingConsumer(
        {
            "bootstrap.servers": stack.kafka_bootstrap,
            "group.id": unique_name("t-stock"),
            "auto.offset.reset": "earliest",
            "key.deserializer": StringDeserializer("utf_8"),
            "value.deserializer": AvroDeserializer(
                SchemaRegistryClient({"url": stack.schema_registry_url, "timeout": 10})
            ),
        }
    )
    consumer.subscribe([topic])
    seen: dict[str, dict[str, Any]] = {}
    deadline = time.monotonic() + 60
    try:
        while len(seen) < 20 and time.monotonic() < deadline:
            msg = consumer.poll(0.5)
            if msg is not None and msg.error() is None:
                value: Any = msg.value()  # the deserializer's dict
                seen[value["metadata"]["event_id"]] = {"key": msg.key(), **value}
    finally:
        consumer.close()
    assert set(seen) == {event_id for _, event_id, _, _ in rows}
    for key, event_id, _, _ in rows:
        assert seen[event_id]["key"] == key == seen[event_id]["sample_id"]
        assert seen[event_id]["metadata"]["event_type"] == "SAMPLE_COLLECTED"
