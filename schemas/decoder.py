"""Reading a Confluent-framed message: the writer schema by id from the registry (cached), then
the Avro record. The one decoder every project reader uses (consumer loop, replay, tools).

Two kinds of failure, kept apart because callers must treat them differently: bytes that never
decode (``SerializationError``: dead-letter them) and a registry that does not answer now
(``RegistryUnavailable``: retry later; an outage must not turn every message into poison).
"""

from __future__ import annotations

import io
import json
from dataclasses import dataclass
from typing import Any

import fastavro
from confluent_kafka.schema_registry import SchemaRegistryClient
from confluent_kafka.schema_registry.error import SchemaRegistryError

from schemas.avro_codec import SerializationError, unframe
from schemas.registry import registry_client


class RegistryUnavailable(Exception):
    """The registry could not be asked (down, slow, 5xx): transient, try again."""


@dataclass(frozen=True)
class Decoded:
    schema_id: int
    schema_name: str  # the writer's record full name, e.g. lis.sample.SampleCollected
    writer_schema: Any  # parsed (fastavro)
    record: dict[str, Any]
    body: bytes  # the Avro binary without the frame


class RegistryDecoder:
    def __init__(self, registry_url: str, client: SchemaRegistryClient | None = None) -> None:
        self._url = registry_url
        self._client = client
        self._schemas: dict[int, Any] = {}

    def writer_schema(self, schema_id: int) -> Any:
        """The parsed schema registered under ``schema_id`` (registered ids never change)."""
        if (schema := self._schemas.get(schema_id)) is not None:
            return schema
        self._client = self._client or registry_client(self._url)
        try:
            raw = self._client.get_schema(schema_id).schema_str or ""
        except SchemaRegistryError as exc:
            if exc.http_status_code == 404:
                raise SerializationError(f"schema id {schema_id} is not in the registry") from exc
            raise RegistryUnavailable(f"registry: {exc}") from exc
        except Exception as exc:  # connection refused, timeouts: the registry, not the message
            raise RegistryUnavailable(f"registry unreachable: {exc!r}") from exc
        try:
            schema = fastavro.parse_schema(json.loads(raw), named_schemas={})
        except Exception as exc:  # a registered text that is no Avro record never heals
            raise SerializationError(f"schema id {schema_id} is not valid Avro: {exc}") from exc
        if not isinstance(schema, dict) or schema.get("type") != "record":
            raise SerializationError(f"schema id {schema_id} is not an Avro record")
        self._schemas[schema_id] = schema
        return schema

    def decode(self, value: bytes | None) -> Decoded:
        if value is None:
            raise SerializationError("message has no value")
        schema_id, body = unframe(value)
        schema = self.writer_schema(schema_id)
        buf = io.BytesIO(body)
        try:
            # No reader schema: it would be the writer's, and fastavro then resolves one
            # against the other for every record (measured 2.5x slower) to change nothing.
            record = fastavro.schemaless_reader(buf, schema)
        except Exception as exc:  # fastavro's errors vary; bytes + known schema never heal
            raise SerializationError(f"cannot decode with schema {schema_id}: {exc!r}") from exc
        if buf.tell() != len(body) or not isinstance(record, dict):
            raise SerializationError(f"body does not match schema {schema_id}")
        # fastavro's parsed "name" is the full name; registries such as Apicurio hand the text
        # back split into name + namespace.
        return Decoded(schema_id, schema["name"], schema, record, body)
