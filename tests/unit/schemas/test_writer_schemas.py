"""Writer-schema fingerprints and their resolution to registry ids, and the relay's slots."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from confluent_kafka.schema_registry import RegisteredSchema, Schema

from domains.sample.events import SampleCollected
from producers.outbox_reader import SLOTS, wanted_slots
from schemas import avro_codec
from schemas.avro_codec import AvroCodec, committed_schema
from schemas.fingerprints import (
    UNKNOWN,
    UnknownWriterSchemaError,
    fingerprint,
    writer_fingerprint,
)
from schemas.registry import SchemaIds
from schemas.writer_schemas import WriterSchemaIds

NAME = "lis.sample.SampleCollected"
CURRENT = committed_schema(SampleCollected)
V1 = {**CURRENT, "fields": [f for f in CURRENT["fields"] if f["name"] != "collected_by"]}


def test_a_fingerprint_ignores_spelling_docs_and_defaults_but_not_fields() -> None:
    split = {**CURRENT, "name": "SampleCollected", "namespace": "lis.sample"}  # as Apicurio says
    redoc = {**CURRENT, "doc": "reworded"}
    assert fingerprint(CURRENT) == fingerprint(json.dumps(split, indent=2)) == fingerprint(redoc)
    assert fingerprint(V1) != fingerprint(CURRENT)
    assert len(fingerprint(CURRENT)) == 64


def test_the_unit_of_work_learns_the_fingerprint_from_the_encoder_it_was_given() -> None:
    assert writer_fingerprint(avro_codec.encode, NAME) == fingerprint(CURRENT)
    old_code = AvroCodec([SampleCollected], schema_for=lambda _cls: V1)
    assert writer_fingerprint(old_code.encode, NAME) == fingerprint(V1)
    assert writer_fingerprint(lambda _env: ("test.Named", b"{}"), "test.Named") == UNKNOWN


TOPIC = "lis.sample.events"


class FakeRegistry:
    """The registry calls SchemaIds and WriterSchemaIds make; counts the version reads."""

    def __init__(self, versions: dict[int, tuple[int, dict[str, Any]]]) -> None:
        self.versions = versions  # version -> (id, schema)
        self.reads = 0

    def get_compatibility(self, subject_name: str | None = None) -> str:
        return "FULL_TRANSITIVE"

    def set_compatibility(self, subject_name: str | None = None, level: str = "") -> None:
        pass

    def register_schema(self, subject_name: str, schema: Schema) -> int:
        return 900

    def get_versions(self, subject_name: str) -> list[int]:
        return list(self.versions)

    def get_version(self, subject_name: str, version: int) -> RegisteredSchema:
        self.reads += 1
        schema_id, schema = self.versions[version]
        text = json.dumps(schema)
        return RegisteredSchema(
            subject=subject_name, version=version, schema_id=schema_id, guid=None,
            schema=Schema(text, "AVRO"),
        )  # fmt: skip


def resolver(registry: FakeRegistry) -> WriterSchemaIds:
    client: Any = registry
    ids = SchemaIds(client, topic_for=lambda _cls: TOPIC, events=[SampleCollected])
    return WriterSchemaIds(ids, client)


def test_rows_of_the_running_code_or_without_fingerprint_use_its_own_registered_id() -> None:
    ids = resolver(FakeRegistry({}))
    assert ids(TOPIC, NAME, fingerprint(CURRENT)) == 900
    assert ids(TOPIC, NAME, UNKNOWN) == 900


def test_an_older_writer_gets_the_id_of_the_version_with_its_fingerprint_once() -> None:
    registry = FakeRegistry({1: (41, V1), 2: (42, CURRENT)})
    ids = resolver(registry)
    assert ids(TOPIC, NAME, fingerprint(V1)) == 41
    reads = registry.reads
    assert ids(TOPIC, NAME, fingerprint(V1)) == 41
    assert registry.reads == reads  # cached


def test_a_fingerprint_no_version_has_is_an_error_never_a_guess() -> None:
    ids = resolver(FakeRegistry({2: (42, CURRENT)}))
    with pytest.raises(UnknownWriterSchemaError, match=re.escape(fingerprint(V1))):
        ids(TOPIC, NAME, fingerprint(V1))
    with pytest.raises(UnknownWriterSchemaError, match=re.escape("no schema for lis.Nope")):
        ids(TOPIC, "lis.Nope", UNKNOWN)


@pytest.mark.parametrize("workers", [1, 2, 3, 7, SLOTS])
def test_workers_share_out_every_slot_exactly_once(workers: int) -> None:
    slots = [s for w in range(workers) for s in wanted_slots(w, workers)]
    assert sorted(slots) == list(range(SLOTS))


def test_more_workers_than_slots_is_refused() -> None:
    with pytest.raises(ValueError, match="workers"):
        wanted_slots(0, SLOTS + 1)
