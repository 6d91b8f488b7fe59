"""Soak: the registry never leaves a stock client hanging (issue #10).

Apicurio, alone, now and then never sends an error response; stock confluent-kafka (>= 2.13)
asks it one (the association API it lacks) before decoding a topic, with no timeout by default.
Under load (a producer flooding a scratch topic, the decoding itself), at once:
- the newest confluent-kafka with default settings decodes a whole lab day 20 times, each with
  a new client (so each asks the association API again);
- 20,000 requests on kept-alive connections (associations, schema by id, latest version) each
  answer within 1 s.
A hang shows up as a run or a request past its limit, never as a stuck test: every wait here
is bounded.
"""

from __future__ import annotations

import http.client
import threading
import time
import uuid
from collections.abc import Iterator
from urllib.parse import quote, urlsplit

import confluent_kafka
import pytest
from confluent_kafka import Consumer, KafkaError, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic
from confluent_kafka.schema_registry import SchemaRegistryClient
from confluent_kafka.schema_registry.avro import AvroDeserializer
from confluent_kafka.serialization import MessageField, SerializationContext

from infra.config.settings import Settings
from tests.integration.lab_day import PublishedDay, lab_day

pytestmark = pytest.mark.integration

DECODES = 20
REQUESTS = 20_000
CONNECTIONS = 4
LIMIT_S = 1.0
RUN_LIMIT_S = 60.0


@pytest.fixture(scope="module")
def day(stack: Settings, module_database_url: str) -> Iterator[PublishedDay]:
    with lab_day(stack, module_database_url, patients=2, seed=13) as day:
        yield day


def _decode_day(day: PublishedDay) -> int:
    """The whole day with a stock AvroDeserializer on a client of default settings."""
    s = day.settings
    decode = AvroDeserializer(SchemaRegistryClient({"url": s.schema_registry_url}))
    consumer = Consumer({"bootstrap.servers": s.kafka_bootstrap, "group.id": "unused",
                         "enable.auto.commit": False, "enable.partition.eof": True})  # fmt: skip
    try:
        parts = [
            TopicPartition(t, p)
            for t, meta in consumer.list_topics(timeout=10).topics.items()
            if t in s.topics().events
            for p in meta.partitions
        ]
        consumer.assign([TopicPartition(tp.topic, tp.partition, 0) for tp in parts])
        left, events = {(tp.topic, tp.partition) for tp in parts}, 0
        while left:
            msg = consumer.poll(1.0)
            if msg is None:
                continue
            if (err := msg.error()) is not None:
                assert err.code() == KafkaError._PARTITION_EOF, err
                left.discard((msg.topic(), msg.partition()))
                continue
            ctx = SerializationContext(str(msg.topic()), MessageField.VALUE)
            assert decode(msg.value(), ctx)["metadata"]["event_id"]
            events += 1
        return events
    finally:
        consumer.close()


def _collect(day: PublishedDay, into: list[int]) -> None:
    into.append(_decode_day(day))


def _paths(day: PublishedDay) -> list[str]:
    s = day.settings
    base = urlsplit(s.schema_registry_url).path
    client = SchemaRegistryClient({"url": s.schema_registry_url, "timeout": 10})
    subjects = [n for n in client.get_subjects() if n.startswith(f"{s.topic_namespace}.")]
    ids = [client.get_latest_version(n).schema_id for n in subjects[:5]]
    topic = s.topics().events[0]
    return [
        f"{base}/associations/resources/-/{quote(topic)}?resourceType=topic&associationType=value",
        *(f"{base}/schemas/ids/{i}" for i in ids),
        *(f"{base}/subjects/{quote(n)}/versions/latest" for n in subjects[:5]),
    ]


def _hammer(host: str, port: int, paths: list[str], n: int, slow: list[str]) -> None:
    conn = http.client.HTTPConnection(host, port, timeout=10 * LIMIT_S)
    for i in range(n):
        path = paths[i % len(paths)]
        began = time.monotonic()
        try:
            conn.request("GET", path, headers={"Accept": "application/json"})
            response = conn.getresponse()
            response.read()
            status = response.status
        except (TimeoutError, OSError, http.client.HTTPException) as exc:
            slow.append(f"{path}: {exc!r}")
            conn.close()
            conn = http.client.HTTPConnection(host, port, timeout=10 * LIMIT_S)
            continue
        took = time.monotonic() - began
        if took > LIMIT_S or status != 200:
            slow.append(f"{path}: HTTP {status} in {took:.2f} s")
    conn.close()


def _load(bootstrap: str, topic: str, stop: threading.Event) -> None:
    producer = Producer({"bootstrap.servers": bootstrap, "linger.ms": 5})
    payload = b"\0" * 400
    for i in range(2_000_000):  # bounded, whatever happens
        if stop.is_set():
            break
        try:
            producer.produce(topic, payload, str(i % 1000).encode())
        except BufferError:
            producer.poll(0.05)
    producer.flush(30)


def test_stock_clients_never_hang_on_the_registry_under_load(day: PublishedDay) -> None:
    assert tuple(int(x) for x in confluent_kafka.__version__.split(".")[:2]) >= (2, 13)
    s = day.settings
    scratch = f"{s.topic_namespace}.soak-load.{uuid.uuid4().hex[:8]}"
    admin = AdminClient({"bootstrap.servers": s.kafka_bootstrap})
    admin.create_topics([NewTopic(scratch, 3, 1)])[scratch].result(30)
    stop = threading.Event()
    load = threading.Thread(target=_load, args=(s.kafka_bootstrap, scratch, stop), daemon=True)
    host, port = urlsplit(s.schema_registry_url).hostname, urlsplit(s.schema_registry_url).port
    paths, slow, runs = _paths(day), [], []
    hammers = [
        threading.Thread(target=_hammer, args=(host, port, paths, REQUESTS // CONNECTIONS, slow),
                         daemon=True)
        for _ in range(CONNECTIONS)
    ]  # fmt: skip
    load.start()
    for t in hammers:
        t.start()
    try:
        for _ in range(DECODES):
            result: list[int] = []
            began = time.monotonic()
            run = threading.Thread(target=_collect, args=(day, result), daemon=True)
            run.start()
            run.join(RUN_LIMIT_S)
            assert result, f"a stock consumer was still decoding after {RUN_LIMIT_S:.0f} s"
            runs.append((result[0], time.monotonic() - began))
        for t in hammers:
            t.join(600)
            assert not t.is_alive(), "requests still running after 10 minutes"
    finally:
        stop.set()
        load.join(60)
        admin.delete_topics([scratch])[scratch].result(60)

    assert [n for n, _ in runs] == [day.published] * DECODES
    assert slow == [], f"{len(slow)} of {REQUESTS} requests over {LIMIT_S} s: {slow[:5]}"
