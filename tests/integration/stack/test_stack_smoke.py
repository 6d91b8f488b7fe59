"""Smoke test of the local stack: each of the four services does what the app needs of it."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Iterator

import pytest
import redis
from confluent_kafka import DeserializingConsumer, SerializingProducer
from confluent_kafka.admin import AdminClient, NewTopic
from confluent_kafka.schema_registry import (
    Schema,
    SchemaRegistryClient,
    topic_record_subject_name_strategy,
)
from confluent_kafka.schema_registry.avro import AvroDeserializer, AvroSerializer
from confluent_kafka.serialization import StringDeserializer, StringSerializer
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from infra.config.settings import Settings

pytestmark = pytest.mark.integration

# A made-up record (no patient data): the shape of a small sample event.
SMOKE_V1 = {
    "type": "record",
    "name": "SmokeSampleReceived",
    "namespace": "lis.smoke",
    "fields": [
        {"name": "sample_id", "type": "string"},
        {"name": "bench", "type": "string"},
        {"name": "tube_count", "type": "int"},
    ],
}


@pytest.fixture
def registry(stack: Settings) -> SchemaRegistryClient:
    return SchemaRegistryClient({"url": stack.schema_registry_url, "timeout": 10})


@pytest.fixture
def topic(stack: Settings, unique_name: Callable[[str], str]) -> Iterator[str]:
    name = unique_name("smoke")
    admin = AdminClient({"bootstrap.servers": stack.kafka_bootstrap})
    for future in admin.create_topics([NewTopic(name, num_partitions=1)]).values():
        future.result(timeout=30)
    yield name
    admin.delete_topics([name])


def test_avro_round_trip_through_kafka_and_registry(
    stack: Settings, registry: SchemaRegistryClient, topic: str
) -> None:
    schema_str = json.dumps(SMOKE_V1)
    # The project's subject naming: several event types per topic.
    serializer = AvroSerializer(
        registry,
        schema_str,
        conf={
            "auto.register.schemas": True,
            "subject.name.strategy": topic_record_subject_name_strategy,
        },
    )
    producer = SerializingProducer(
        {
            "bootstrap.servers": stack.kafka_bootstrap,
            "key.serializer": StringSerializer("utf_8"),
            "value.serializer": serializer,
            "enable.idempotence": True,
            "acks": "all",
        }
    )
    value = {"sample_id": str(uuid.uuid4()), "bench": "chemistry", "tube_count": 2}
    producer.produce(topic, key=value["sample_id"], value=value)
    assert producer.flush(30) == 0

    consumer = DeserializingConsumer(
        {
            "bootstrap.servers": stack.kafka_bootstrap,
            "group.id": f"{topic}.reader",
            "auto.offset.reset": "earliest",
            "key.deserializer": StringDeserializer("utf_8"),
            "value.deserializer": AvroDeserializer(registry),
        }
    )
    consumer.subscribe([topic])
    try:
        message = None
        for _ in range(60):
            message = consumer.poll(1.0)
            if message is not None and message.error() is None:
                break
        assert message is not None
        assert message.error() is None
        assert message.key() == value["sample_id"]
        assert message.value() == value
    finally:
        consumer.close()

    registered = registry.get_latest_version(f"{topic}-lis.smoke.SmokeSampleReceived")
    fetched = registry.get_schema(registered.schema_id)
    assert json.loads(fetched.schema_str)["name"] == "SmokeSampleReceived"


def test_registry_enforces_full_transitive_compatibility(
    registry: SchemaRegistryClient, unique_name: Callable[[str], str]
) -> None:
    subject = unique_name("smoke.events-lis.smoke.SmokeSampleReceived")
    schema_id = registry.register_schema(subject, Schema(json.dumps(SMOKE_V1), "AVRO"))
    assert json.loads(registry.get_schema(schema_id).schema_str)["name"] == "SmokeSampleReceived"

    registry.set_compatibility(subject, "FULL_TRANSITIVE")
    assert registry.get_compatibility(subject) == "FULL_TRANSITIVE"

    # Adding a field with a default is fully compatible; adding one without is not
    # (old readers are fine, but new readers cannot read old data).
    with_default = {
        **SMOKE_V1,
        "fields": [*SMOKE_V1["fields"], {"name": "rack", "type": "string", "default": ""}],
    }
    required = {**SMOKE_V1, "fields": [*SMOKE_V1["fields"], {"name": "rack", "type": "string"}]}
    assert registry.test_compatibility(subject, Schema(json.dumps(with_default), "AVRO"))
    assert not registry.test_compatibility(subject, Schema(json.dumps(required), "AVRO"))


def test_postgres_round_trip_on_lis_test(stack: Settings) -> None:
    url = make_url(stack.database_url).set(database="lis_test")
    assert url.drivername == "postgresql+psycopg"
    engine = create_engine(url)
    try:
        with engine.begin() as conn:
            # Migrated by `lis stack up`; the temp table keeps the shared database clean.
            assert conn.execute(text("SELECT count(*) FROM alembic_version")).scalar_one() == 1
            conn.execute(text("CREATE TEMP TABLE smoke (id uuid PRIMARY KEY, note text)"))
            row_id = uuid.uuid4()
            conn.execute(
                text("INSERT INTO smoke VALUES (:id, :note)"), {"id": row_id, "note": "smoke"}
            )
            row = conn.execute(text("SELECT id, note FROM smoke")).one()
        assert (row.id, row.note) == (row_id, "smoke")
    finally:
        engine.dispose()


def test_redis_ping_set_get(stack: Settings, unique_name: Callable[[str], str]) -> None:
    client = redis.Redis.from_url(stack.redis_url)
    key = unique_name("smoke")
    assert client.ping()
    client.set(key, "ok", ex=60)
    assert client.get(key) == b"ok"
    client.delete(key)
