"""Reading a Confluent-framed message: the writer schema by id from the registry (cached), then
the Avro record. The one decoder every project reader uses (consumer loop, replay, tools).

Two kinds of failure, kept apart because callers must treat them differently: bytes that never
decode (``SerializationError``: dead-letter them) and a registry that does not answer now
(``RegistryUnavailable``: retry later; an outage must not turn every message into poison).

With ``reader_for`` (e.g. ``avro_codec.current_schema``) records come out in the shape of the
reader's schema, by Avro schema resolution: an event written before a field was added reads
with the field's default, as today's code would see it (``lis replay``).
"""

from __future__ import annotations

import io
import json
from collections.abc import Callable
from typing import Any, NamedTuple

import fastavro
from confluent_kafka.schema_registry import SchemaRegistryClient
from confluent_kafka.schema_registry.error import SchemaRegistryError

from schemas.avro_codec import SerializationError, unframe
from schemas.fingerprints import fingerprint
from schemas.registry import registry_client

ReaderFor = Callable[[str], Any | None]  # record full name -> parsed reader schema (or None)


class RegistryUnavailable(Exception):
    """The registry could not be asked (down, slow, 5xx): transient, try again."""


class Decoded(NamedTuple):
    """What one message decodes to (a tuple: built once per message, at replay rates)."""

    schema_id: int
    schema_name: str  # the writer's record full name, e.g. lis.sample.SampleCollected
    writer_schema: Any  # parsed (fastavro)
    record: dict[str, Any]  # in the reader's shape when the decoder has one
    body: bytes  # the Avro binary without the frame


class RegistryDecoder:
    def __init__(
        self,
        registry_url: str,
        client: SchemaRegistryClient | None = None,
        *,
        reader_for: ReaderFor | None = None,
    ) -> None:
        self._url = registry_url
        self._client = client
        self._schemas: dict[int, Any] = {}
        self._reader_for = reader_for
        self._pairs: dict[int, tuple[Any, Any]] = {}  # schema id -> (writer, reader)

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
        pair = self._pairs.get(schema_id)
        if pair is None:
            writer = self.writer_schema(schema_id)
            pair = self._pairs[schema_id] = (writer, self._reader(writer))
        schema, reader = pair
        buf = io.BytesIO(body)
        try:
            # Without a reader of its own, none: fastavro would otherwise resolve the writer
            # against itself for every record (measured 2.5x slower) to change nothing.
            record = fastavro.schemaless_reader(buf, schema, None if reader is schema else reader)
        except Exception as exc:  # fastavro's errors vary; bytes + known schema never heal
            raise SerializationError(f"cannot decode with schema {schema_id}: {exc!r}") from exc
        if buf.tell() != len(body) or not isinstance(record, dict):
            raise SerializationError(f"body does not match schema {schema_id}")
        # fastavro's parsed "name" is the full name; registries such as Apicurio hand the text
        # back split into name + namespace.
        return Decoded(schema_id, schema["name"], schema, record, body)

    def _reader(self, writer: Any) -> Any:
        """The reader schema for a writer schema: the writer itself when there is no reader or
        both encode alike (resolution would only cost time)."""
        reader = self._reader_for(writer["name"]) if self._reader_for else None
        if reader is None or fingerprint(reader) == fingerprint(writer):
            return writer
        return reader
