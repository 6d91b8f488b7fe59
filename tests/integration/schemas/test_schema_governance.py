"""Against the real registry: FULL_TRANSITIVE is enforced, and our framing is what stock clients
read. Every test uses fresh subjects (fresh topic names), so runs never collide."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from confluent_kafka.schema_registry import SchemaRegistryClient, topic_record_subject_name_strategy
from confluent_kafka.schema_registry.avro import AvroDeserializer, AvroSerializer
from confluent_kafka.schema_registry.error import SchemaRegistryError
from confluent_kafka.serialization import MessageField, SerializationContext
from hypothesis import given, settings
from hypothesis import strategies as st

from domains.events import ALL_EVENTS
from domains.shared.messages import Event
from infra.cli.schemas import registry_problems
from infra.config.settings import Settings
from schemas.avro_codec import committed_schema, encode, frame, record_of
from schemas.catalog import record_name_of, schema_file_of
from schemas.decoder import RegistryDecoder
from schemas.registry import COMPATIBILITY, SchemaIds, avro_schema, subject_for
from tests.unit.schemas.test_avro_codec import envelopes_of

pytestmark = pytest.mark.integration


@pytest.fixture
def client(stack: Settings) -> SchemaRegistryClient:
    return SchemaRegistryClient({"url": stack.schema_registry_url, "timeout": 10})


def _thing(*fields: dict[str, Any]) -> dict[str, Any]:
    return {
        "type": "record",
        "name": "lis.probe.Thing",
        "fields": [{"name": "thing_id", "type": "string"}, *fields],
    }


def test_registry_refuses_a_change_that_is_only_compatible_with_the_latest_version(
    client: SchemaRegistryClient, unique_name: Callable[[str], str]
) -> None:
    subject = subject_for(unique_name("probe.events"), "lis.probe.Thing")
    v1 = _thing({"name": "code", "type": "string", "default": "none"})
    v2 = _thing()  # dropping a field that has a default: FULL-compatible
    v3 = _thing({"name": "code", "type": "long", "default": 0})  # fine after v2, not after v1

    client.register_schema(subject, avro_schema(v1))
    client.set_compatibility(subject_name=subject, level=COMPATIBILITY)
    client.register_schema(subject, avro_schema(v2))

    assert client.get_compatibility(subject) == COMPATIBILITY
    assert client.test_compatibility(subject, avro_schema(v3), version="latest")
    with pytest.raises(SchemaRegistryError) as refused:
        client.register_schema(subject, avro_schema(v3))
    assert refused.value.http_status_code == 409


def test_registry_refuses_a_new_required_field(
    client: SchemaRegistryClient, unique_name: Callable[[str], str]
) -> None:
    subject = subject_for(unique_name("probe.events"), "lis.probe.Thing")
    client.register_schema(subject, avro_schema(_thing()))
    client.set_compatibility(subject_name=subject, level=COMPATIBILITY)
    required = _thing({"name": "site", "type": "string"})
    optional = _thing({"name": "site", "type": ["null", "string"], "default": None})

    assert not client.test_compatibility(subject, avro_schema(required))
    with pytest.raises(SchemaRegistryError):
        client.register_schema(subject, avro_schema(required))
    client.register_schema(subject, avro_schema(optional))
    assert len(client.get_versions(subject)) == 2


@pytest.fixture
def schema_ids(
    client: SchemaRegistryClient, unique_name: Callable[[str], str]
) -> tuple[SchemaIds, Callable[[type[Event]], str]]:
    prefix = unique_name("t")
    topics = {cls.aggregate_type: f"{prefix}.{cls.aggregate_type.lower()}" for cls in ALL_EVENTS}

    def topic_for(cls: type[Event]) -> str:
        return topics[cls.aggregate_type]

    return SchemaIds(client, topic_for=topic_for), topic_for


def test_every_event_schema_registers_with_full_transitive_and_stable_ids(
    client: SchemaRegistryClient, schema_ids: tuple[SchemaIds, Callable[[type[Event]], str]]
) -> None:
    ids, topic_for = schema_ids

    registered = ids.register_all()
    again = SchemaIds(client, topic_for=topic_for).register_all()

    assert len(registered) == len(ALL_EVENTS)
    assert again == registered
    for subject in registered:
        assert client.get_compatibility(subject) == COMPATIBILITY


@pytest.mark.parametrize("event_cls", ALL_EVENTS, ids=lambda c: c.__name__)
def test_a_stock_avro_deserializer_reads_what_we_frame(
    event_cls: type[Event],
    client: SchemaRegistryClient,
    schema_ids: tuple[SchemaIds, Callable[[type[Event]], str]],
) -> None:
    ids, topic_for = schema_ids
    stock = AvroDeserializer(client)
    context = SerializationContext(topic_for(event_cls), MessageField.VALUE)

    @settings(max_examples=3, deadline=None)
    @given(data=st.data())
    def check(data: st.DataObject) -> None:
        envelope = data.draw(envelopes_of(event_cls))
        name, body = encode(envelope)

        value = stock(frame(ids.id_for(name), body), context)

        # Every field, metadata and payload: timestamp-micros come back as aware UTC datetimes
        # and dates as dates, equal to what was written (the factory draws whole microseconds).
        assert value == record_of(envelope)
        assert value["metadata"]["event_type"] == event_cls.event_type

    check()


def test_the_decoder_resolves_an_id_back_to_its_record_name(
    schema_ids: tuple[SchemaIds, Callable[[type[Event]], str]], stack: Settings
) -> None:
    ids, _ = schema_ids
    record_name = record_name_of(ALL_EVENTS[0])

    schema = RegistryDecoder(stack.schema_registry_url).writer_schema(ids.id_for(record_name))

    assert schema["name"] == record_name


def test_check_reports_a_file_that_the_registry_would_refuse(
    client: SchemaRegistryClient,
    schema_ids: tuple[SchemaIds, Callable[[type[Event]], str]],
) -> None:
    _, topic_for = schema_ids
    event_cls = ALL_EVENTS[0]
    subject = subject_for(topic_for(event_cls), record_name_of(event_cls))
    # What an earlier release registered: a required field today's class no longer has.
    earlier = committed_schema(event_cls)
    earlier["fields"].append({"name": "legacy_code", "type": "string"})
    client.register_schema(subject, avro_schema(earlier))
    client.set_compatibility(subject_name=subject, level=COMPATIBILITY)

    problems = registry_problems(client, topic_for)

    assert len(problems) == 1
    assert problems[0].startswith(f"schemas/{schema_file_of(event_cls)} vs {subject} v1")
    assert "field 'legacy_code'" in problems[0]


def test_registering_sets_the_global_level_so_auto_registered_subjects_are_governed_too(
    client: SchemaRegistryClient,
    schema_ids: tuple[SchemaIds, Callable[[type[Event]], str]],
    unique_name: Callable[[str], str],
) -> None:
    # A registry as it comes out of the box (the level FULL_TRANSITIVE replaces is the default).
    client.set_compatibility(level="NONE")
    ids, _ = schema_ids

    ids.register_all()

    assert client.get_compatibility() == COMPATIBILITY
    # A downstream producer with a stock serializer auto-registers a subject SchemaIds never
    # touched; its next version drops a required-field-less change on readers: refused.
    topic = unique_name("probe.events")
    context = SerializationContext(topic, MessageField.VALUE)
    conf = {
        "auto.register.schemas": True,
        "subject.name.strategy": topic_record_subject_name_strategy,
    }
    v1 = AvroSerializer(client, json.dumps(_thing()), conf=conf)
    v1({"thing_id": "t-1"}, context)
    breaking = _thing({"name": "site", "type": "string"})  # required: old data lacks it
    v2 = AvroSerializer(client, json.dumps(breaking), conf=conf)
    with pytest.raises(SchemaRegistryError) as refused:
        v2({"thing_id": "t-2", "site": "lab-2"}, context)
    assert refused.value.http_status_code == 409
