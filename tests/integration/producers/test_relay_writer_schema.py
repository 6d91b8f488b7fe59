"""The relay frames each row with the registry id of the schema it was WRITTEN with.

Rows from older code (a rolling deploy, rows left in the outbox across an upgrade) must not go
out with the running code's schema id: a consumer would decode v1 bytes with v2.
"""

from __future__ import annotations

import io
import json
import threading
import uuid
from collections.abc import Callable
from typing import Any

import fastavro
import psycopg
import pytest
from confluent_kafka.schema_registry import SchemaRegistryClient
from confluent_kafka.schema_registry.avro import AvroDeserializer
from confluent_kafka.serialization import MessageField, SerializationContext

from domains.sample.events import SampleCollected
from infra.bench.relay_data import SCHEMA, make_rows
from infra.config.settings import Settings
from producers.kafka_config import producer_config
from producers.relay import Relay, libpq_url
from producers.topics import ensure_topics
from schemas.avro_codec import committed_schema, unframe
from schemas.fingerprints import UnknownWriterSchemaError, fingerprint
from schemas.registry import SchemaIds, avro_schema, registry_client, subject_for
from schemas.writer_schemas import WriterSchemaIds
from tests.integration.producers.test_relay import consume_all, drain_until, high_watermarks

pytestmark = pytest.mark.integration

_INSERT = (
    "INSERT INTO outbox (event_id, organization_id, aggregate_type, aggregate_id,"
    " aggregate_version, event_type, topic, key, headers, schema_name, schema_fingerprint,"
    " payload) VALUES (%s, 'org-1', 'Sample', %s, 1, 'SAMPLE_COLLECTED', %s, %s, %s, %s, %s, %s)"
)


def write_row(url: str, topic: str, schema: dict[str, Any], record: dict[str, Any]) -> str:
    """An outbox row as a writer with ``schema`` (and its fingerprint) leaves it."""
    buf = io.BytesIO()
    fastavro.schemaless_writer(buf, fastavro.parse_schema(schema, named_schemas={}), record)
    event_id: str = record["metadata"]["event_id"]
    key: str = record["sample_id"]
    headers = json.dumps({"event_type": "SAMPLE_COLLECTED", "event_id": event_id})
    params = (event_id, key, topic, key, headers, SCHEMA, fingerprint(schema), buf.getvalue())
    with psycopg.connect(libpq_url(url), autocommit=True) as conn:
        conn.execute(_INSERT, params)
    return event_id


def sample_record(current: dict[str, Any]) -> dict[str, Any]:
    (_, _, body, _) = make_rows(1, aggregates=1)[0]
    parsed = fastavro.parse_schema(current, named_schemas={})
    record = fastavro.schemaless_reader(io.BytesIO(body), parsed, None)
    assert isinstance(record, dict)
    record["metadata"]["event_id"] = str(uuid.uuid4())
    return record


@pytest.fixture
def topic(stack: Settings, unique_name: Callable[[str], str]) -> str:
    name = unique_name("t.relay.writer")
    ensure_topics(stack.kafka_bootstrap, stack.topics(), [name])
    return name


def writer_ids(settings: Settings, topic: str) -> tuple[WriterSchemaIds, SchemaIds]:
    client = registry_client(settings.schema_registry_url)
    ids = SchemaIds(client, events=[SampleCollected], topic_for=lambda _cls: topic)
    return WriterSchemaIds(ids, client), ids


def test_a_row_written_with_an_older_schema_goes_out_framed_with_that_schemas_id(
    stack: Settings, fresh_database_url: str, topic: str
) -> None:
    current = committed_schema(SampleCollected)
    # v1: the same record before the optional ``collected_by`` was added (FULL_TRANSITIVE ok).
    v1 = {**current, "fields": [f for f in current["fields"] if f["name"] != "collected_by"]}
    client = SchemaRegistryClient({"url": stack.schema_registry_url, "timeout": 10})
    v1_id = client.register_schema(subject_for(topic, SCHEMA), avro_schema(v1))
    new = sample_record(current)
    old = {k: v for k, v in sample_record(current).items() if k != "collected_by"}
    old_id = write_row(fresh_database_url, topic, v1, old)  # an old writer, still in the outbox
    new_id = write_row(fresh_database_url, topic, current, new)

    lookup, ids = writer_ids(stack, topic)
    relay = Relay(fresh_database_url, producer_config(stack.kafka_bootstrap), lookup, listen=False)
    assert drain_until(relay, 2) == 2
    relay.close()

    stock = AvroDeserializer(client)
    ctx = SerializationContext(topic, MessageField.VALUE)
    got = {}
    for msg in consume_all(stack, topic, expected=2):
        value: Any = stock(msg.value(), ctx)
        got[value["metadata"]["event_id"]] = (unframe(msg.value())[0], value)
    assert got[old_id] == (v1_id, old)
    assert got[new_id] == (ids.id_for(SCHEMA), new)
    assert v1_id != ids.id_for(SCHEMA)


def test_a_row_no_registered_schema_matches_stops_the_relay_and_stays(
    stack: Settings, fresh_database_url: str, topic: str
) -> None:
    current = committed_schema(SampleCollected)
    # Written by code whose schema never reached the registry (nobody registered v0).
    v0 = {**current, "fields": [f for f in current["fields"] if f["name"] != "loinc_codes"]}
    record = {k: v for k, v in sample_record(current).items() if k != "loinc_codes"}
    write_row(fresh_database_url, topic, v0, record)
    lookup, _ = writer_ids(stack, topic)
    relay = Relay(
        fresh_database_url, producer_config(stack.kafka_bootstrap), lookup, poll_interval=0.1
    )

    failure: list[BaseException] = []

    def run() -> None:
        try:
            relay.run()
        except BaseException as exc:
            failure.append(exc)

    worker = threading.Thread(target=run)
    worker.start()
    worker.join(timeout=30)
    assert not worker.is_alive(), "the relay retried instead of stopping"
    relay.stop()
    (error,) = failure
    assert isinstance(error, UnknownWriterSchemaError)
    assert fingerprint(v0) in str(error)
    assert subject_for(topic, SCHEMA) in str(error)
    with psycopg.connect(libpq_url(fresh_database_url)) as conn:
        assert conn.execute("SELECT count(*) FROM outbox").fetchone() == (1,)
    assert high_watermarks(stack, topic) == 0
