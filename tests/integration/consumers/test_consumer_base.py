"""The shared consumer loop against real Kafka, registry and Postgres: poison, duplicates, retry."""

from __future__ import annotations

import io
import json
import threading
import time
import uuid
from collections.abc import Callable, Sequence
from typing import Any

import fastavro
import pytest
import structlog
from confluent_kafka import Message, Producer
from confluent_kafka.schema_registry import Schema, SchemaRegistryClient
from sqlalchemy import create_engine, text
from sqlalchemy.orm import Session, sessionmaker
from structlog.testing import capture_logs

from consumers.base import ConsumerBase, Received, TransientError
from infra.config.settings import Settings
from producers.topics import ensure_topics
from schemas.avro_codec import frame
from schemas.decoder import Decoded, RegistryDecoder
from tests.integration.producers.test_relay import consume_all

pytestmark = pytest.mark.integration

# Like every real event, the id sits in an embedded metadata record: that is what the consumer
# claims in the inbox (the event_id header is only a copy).
PINGED = {
    "type": "record",
    "name": "lis.test.Pinged",
    "fields": [
        {
            "name": "metadata",
            "type": {
                "type": "record",
                "name": "Meta",
                "fields": [{"name": "event_id", "type": "string"}],
            },
        },
        {"name": "aggregate_id", "type": "string"},
    ],
}
PARSED_PINGED = fastavro.parse_schema(PINGED)


def register_pinged(settings: Settings, topic: str) -> int:
    client = SchemaRegistryClient({"url": settings.schema_registry_url, "timeout": 10})
    subject = f"{topic}-lis.test.Pinged"
    return int(client.register_schema(subject, Schema(json.dumps(PINGED), "AVRO")))


def pinged_body(event_id: str, aggregate_id: str) -> bytes:
    buf = io.BytesIO()
    record = {"metadata": {"event_id": event_id}, "aggregate_id": aggregate_id}
    fastavro.schemaless_writer(buf, PARSED_PINGED, record)
    return buf.getvalue()


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


def good(schema_id: int, aggregate: str) -> tuple[str, bytes, str | None]:
    """(key, framed value, event_id header) of a well-formed event."""
    event_id = str(uuid.uuid4())
    return aggregate, frame(schema_id, pinged_body(event_id, aggregate)), event_id


def test_poison_goes_to_the_dead_letter_topic_and_good_events_apply_once(
    stack: Settings, fresh_database_url: str, unique_name: Callable[[str], str]
) -> None:
    single = stack.model_copy(update={"topic_partitions": 1})  # one partition: a known order
    topic = unique_name("t.consumer")
    ensure_topics(single.kafka_bootstrap, single.topics(), [topic])
    schema_id = register_pinged(stack, topic)
    engine = create_engine(fresh_database_url)
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE effects (event_id text, aggregate_id text)"))

    first = good(schema_id, "agg-a")
    _, whole, _ = good(schema_id, "truncated")
    other_id = str(uuid.uuid4())
    sent: list[tuple[str, bytes, str | None]] = [
        first,
        ("garbage", b"\xde\xad\xbe\xef not avro at all", str(uuid.uuid4())),
        ("unknown", frame(2_000_000_000, pinged_body("x", "unknown")), str(uuid.uuid4())),
        ("truncated", whole[:-30], str(uuid.uuid4())),
        first,  # redelivered: same event id, same bytes
        good(schema_id, "explodes"),
        good(schema_id, "flaky"),
        good(schema_id, "agg-b"),
        # A tool copied agg-a's headers onto another event: deduping on the header would drop
        # this real event as a "duplicate"; the payload says it is a different one.
        ("copied", frame(schema_id, pinged_body(other_id, "copied")), first[2]),
        # Re-fed without its headers: still recognised as agg-a's event by the payload.
        (first[0], first[1], None),
    ]
    producer = Producer({"bootstrap.servers": stack.kafka_bootstrap})
    for key, value, event_id in sent:
        headers = {"event_type": "PINGED", "correlation_id": "corr-1"}
        if event_id is not None:
            headers["event_id"] = event_id
        producer.produce(topic, value, key, headers=headers)  # type: ignore[arg-type]
    assert producer.flush(30) == 0

    handler = RecordingHandler(unique_name("t-cb").replace(".", "-"), topic)
    consumer = ConsumerBase(
        handler,
        bootstrap=single.kafka_bootstrap,
        topics=single.topics(),
        session_factory=sessionmaker(engine),
        decoder=RegistryDecoder(single.schema_registry_url),
        max_backoff=0.5,
    )
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
    assert (consumer.applied, consumer.duplicates, consumer.dead_lettered) == (3, 2, 5)

    dead = consume_all(stack, stack.topics().dlq(handler.name), expected=5)
    by_key: dict[str, dict[str, Any]] = {}
    for msg in dead:
        by_key[msg.key().decode()] = {"value": msg.value(), **dict(msg.headers())}
    assert set(by_key) == {"garbage", "unknown", "truncated", "explodes", "copied"}
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
    assert by_key["copied"]["dlq.error_type"] == b"EnvelopeMismatchError"
    assert by_key["copied"]["dlq.error"] == (
        f"event_id header {first[2]!r} disagrees with payload event_id {other_id!r}".encode()
    )
    engine.dispose()


class _FixedDecoder(RegistryDecoder):
    """Decodes any message to one record: the log test needs no Kafka or registry."""

    def __init__(self, record: dict[str, Any]) -> None:
        super().__init__("http://unused.invalid")
        self._record = record

    def decode(self, value: bytes | None) -> Decoded:
        return Decoded(7, "lis.test.Pinged", PINGED, self._record, b"")


class _LoggingHandler:
    name = "t-log-binding"
    topics: Sequence[str] = ("lis.sample.events",)

    def handle(self, message: Received, session: Session) -> None:
        structlog.get_logger("test").info("handler.applied")


def test_every_log_line_of_a_message_carries_its_flow_ids_and_position(
    postgres: Settings, fresh_database_url: str
) -> None:
    engine = create_engine(fresh_database_url)
    event_id = str(uuid.uuid4())
    decoder = _FixedDecoder({"metadata": {"event_id": event_id}, "aggregate_id": "s-1"})
    consumer = ConsumerBase(
        _LoggingHandler(),
        bootstrap=postgres.kafka_bootstrap,
        topics=postgres.topics(),
        session_factory=sessionmaker(engine),
        decoder=decoder,
    )
    flow = {"correlation_id": "corr-9", "causation_id": "cause-9", "event_type": "SAMPLE_ROUTED"}

    def message(offset: int, correlation_id: str) -> Message:
        headers = {**flow, "correlation_id": correlation_id, "event_id": event_id}
        return Message(
            topic="lis.sample.events",
            partition=4,
            offset=offset,
            value=b"unused",
            headers=[(k, v.encode()) for k, v in headers.items()],
        )

    # merge_contextvars: capture_logs drops the configured processors, and the per-message
    # binding lives in the context, exactly where the app's processor chain picks it up.
    with capture_logs(processors=[structlog.contextvars.merge_contextvars]) as logs:
        assert consumer.process(message(41, "corr-9"))
        assert consumer.process(message(42, "corr-other"))  # redelivery: a duplicate
    engine.dispose()
    structlog.contextvars.clear_contextvars()

    applied = next(e for e in logs if e["event"] == "handler.applied")
    duplicate = next(e for e in logs if e["event"] == "consumer.duplicate")
    expected = {**flow, "topic": "lis.sample.events", "partition": 4, "consumer": "t-log-binding"}
    assert applied.items() >= {**expected, "offset": 41}.items()
    # Bound afresh per message: nothing of the previous message's context leaks into this one.
    assert duplicate.items() >= {**expected, "offset": 42, "correlation_id": "corr-other"}.items()
