"""The shared consumer loop against real Kafka, registry and Postgres: poison, duplicates, retry."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable, Sequence
from typing import Any

import pytest
from confluent_kafka import Producer
from sqlalchemy import create_engine, text
from sqlalchemy.orm import Session, sessionmaker

from consumers.base import ConsumerBase, Received, TransientError
from infra.settings import Settings
from producers.avro_codec import frame
from producers.topics import dlq_topic, ensure_topics
from tests.integration.test_relay import consume_all, ping_body, register_ping

pytestmark = pytest.mark.integration


class RecordingHandler:
    """Writes one row per applied event, in the consumer's transaction; fails on request."""

    topics: Sequence[str]

    def __init__(self, name: str, topic: str) -> None:
        self.name, self.topics = name, [topic]
        self.flaky_left = 1

    def handle(self, message: Received, session: Session) -> None:
        aggregate = message.record["aggregate_id"]
        if aggregate == "explodes":
            raise ValueError("no such test on this analyser")
        if aggregate == "flaky" and self.flaky_left:
            self.flaky_left -= 1
            raise TransientError("database briefly unreachable")
        session.execute(
            text("INSERT INTO effects (event_id, aggregate_id) VALUES (:e, :a)"),
            {"e": message.event_id, "a": aggregate},
        )


def good(schema_id: int, aggregate: str) -> tuple[str, bytes, str]:
    """(key, framed value, event id) of a well-formed event."""
    event_id = str(uuid.uuid4())
    return aggregate, frame(schema_id, ping_body(event_id, aggregate, 1)), event_id


def test_poison_goes_to_the_dead_letter_topic_and_good_events_apply_once(
    stack: Settings, fresh_database_url: str, unique_name: Callable[[str], str]
) -> None:
    single = stack.model_copy(update={"topic_partitions": 1})  # one partition: a known order
    topic = unique_name("t.consumer")
    ensure_topics(single, [topic])
    schema_id = register_ping(stack, topic)
    engine = create_engine(fresh_database_url)
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE effects (event_id text, aggregate_id text)"))

    first = good(schema_id, "agg-a")
    _, whole, _ = good(schema_id, "truncated")
    sent: list[tuple[str, bytes, str]] = [
        first,
        ("garbage", b"\xde\xad\xbe\xef not avro at all", str(uuid.uuid4())),
        ("unknown", frame(2_000_000_000, ping_body("x", "unknown", 1)), str(uuid.uuid4())),
        ("truncated", whole[:-30], str(uuid.uuid4())),
        first,  # redelivered: same event id, same bytes
        good(schema_id, "explodes"),
        good(schema_id, "flaky"),
        good(schema_id, "agg-b"),
    ]
    producer = Producer({"bootstrap.servers": stack.kafka_bootstrap})
    for key, value, event_id in sent:
        headers = {"event_id": event_id, "event_type": "PINGED", "correlation_id": "corr-1"}
        producer.produce(topic, value, key, headers=headers)  # type: ignore[arg-type]
    assert producer.flush(30) == 0

    handler = RecordingHandler(unique_name("t-cb").replace(".", "-"), topic)
    consumer = ConsumerBase(handler, single, sessionmaker(engine), max_backoff=0.5)
    worker = threading.Thread(target=consumer.run)
    worker.start()
    try:
        deadline = time.monotonic() + 90
        while consumer.applied + consumer.duplicates + consumer.dead_lettered < len(sent):
            assert time.monotonic() < deadline, "consumer did not get through the messages"
            time.sleep(0.1)
    finally:
        consumer.stop()
        worker.join(timeout=30)

    with engine.connect() as conn:
        applied = conn.execute(text("SELECT aggregate_id FROM effects ORDER BY 1")).scalars()
        assert list(applied) == ["agg-a", "agg-b", "flaky"]
        inbox = conn.execute(text("SELECT count(*) FROM inbox")).scalar()
        assert inbox == 3  # the poisoned ones left no claim behind
    assert (consumer.applied, consumer.duplicates, consumer.dead_lettered) == (3, 1, 4)

    dead = consume_all(stack, dlq_topic(handler.name), expected=4)
    by_key: dict[str, dict[str, Any]] = {}
    for msg in dead:
        by_key[msg.key().decode()] = {"value": msg.value(), **dict(msg.headers())}
    assert set(by_key) == {"garbage", "unknown", "truncated", "explodes"}
    originals = {key: value for key, value, _ in sent}
    for key, letter in by_key.items():
        assert letter["value"] == originals[key]  # the original bytes, untouched
        assert letter["dlq.error"]
        assert letter["dlq.source.topic"] == topic.encode()
        assert letter["dlq.consumer"] == handler.name.encode()
        assert letter["correlation_id"] == b"corr-1"  # original headers kept
    assert by_key["explodes"]["dlq.error_type"] == b"ValueError"
    assert b"not in the registry" in by_key["unknown"]["dlq.error"]
    assert by_key["garbage"]["dlq.source.offset"] == b"1"
    engine.dispose()
