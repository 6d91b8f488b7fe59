"""Avro at the edge: event envelopes to schemaless Avro binary and back, plus Confluent framing.

The domain never sees bytes (STYLE habit 5); this module is the only place that does. Schemas
come from the committed ``.avsc`` files, i.e. exactly what the registry holds, parsed once.
fastavro's many error types are translated into ``SerializationError`` so callers (relay,
consumers, dead-letter handling) catch one thing.
"""

from __future__ import annotations

import dataclasses
import enum
import io
import json
import struct
import typing
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from functools import cache
from typing import Any

import fastavro
from fastavro.validation import ValidationError, validate

from domains.shared.messages import Event, EventEnvelope, EventMetadata
from schemas.catalog import SCHEMAS_DIR, all_events, record_name_of, schema_file_of
from schemas.generate import optional_inner, sequence_item

MAGIC_BYTE = 0
_HEADER = struct.Struct(">BI")  # magic byte, 4-byte big-endian schema id

# What fastavro raises on bad data, short reads or values that do not fit the schema.
_AVRO_ERRORS = (
    ValueError,
    TypeError,
    KeyError,
    IndexError,
    AttributeError,
    EOFError,
    OverflowError,
    struct.error,
)


class SerializationError(Exception):
    """A value could not be turned into Avro bytes, or bytes back into an event."""


def committed_schema(event_cls: type[Event]) -> dict[str, Any]:
    """The schema as committed in ``schemas/`` (what the registry holds)."""
    path = SCHEMAS_DIR / schema_file_of(event_cls)
    try:
        schema: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise SerializationError(f"cannot load schema {path}: {exc}") from exc
    return schema


class AvroCodec:
    """Knows a set of event classes and their schemas; parses each schema once, on first use.

    The module-level functions use one codec over the whole event catalogue and the committed
    files; tests build their own with test classes and in-memory schemas.
    """

    def __init__(
        self,
        events: Iterable[type[Event]],
        schema_for: Callable[[type[Event]], dict[str, Any]] = committed_schema,
    ) -> None:
        self._classes = {record_name_of(cls): cls for cls in events}
        self._schema_for = schema_for
        self._parsed: dict[str, Any] = {}

    def event_class(self, schema_name: str) -> type[Event]:
        try:
            return self._classes[schema_name]
        except KeyError as exc:
            raise SerializationError(f"no event class for Avro record {schema_name}") from exc

    def parsed_schema(self, schema_name: str) -> Any:
        if schema_name not in self._parsed:
            raw = self._schema_for(self.event_class(schema_name))
            try:
                # A fresh named-type table per schema: every file defines lis.EventMetadata.
                self._parsed[schema_name] = fastavro.parse_schema(raw, named_schemas={})
            except (ValueError, TypeError, fastavro.schema.SchemaParseException) as exc:
                raise SerializationError(f"bad schema for {schema_name}: {exc}") from exc
        return self._parsed[schema_name]

    def encode(self, envelope: EventEnvelope) -> tuple[str, bytes]:
        name = record_name_of(type(envelope.event))
        schema = self.parsed_schema(name)
        record = record_of(envelope)
        buf = io.BytesIO()
        try:
            fastavro.schemaless_writer(buf, schema, record)
        except _AVRO_ERRORS as exc:
            reason = _explain(schema, record, exc)
            raise SerializationError(f"cannot encode {name}: {reason}") from exc
        return name, buf.getvalue()

    def decode(self, schema_name: str, data: bytes, writer_schema: Any = None) -> EventEnvelope:
        reader = self.parsed_schema(schema_name)
        buf = io.BytesIO(data)
        try:
            record = fastavro.schemaless_reader(buf, writer_schema or reader, reader)
        except _AVRO_ERRORS as exc:
            raise SerializationError(f"cannot decode {schema_name}: {exc!r}") from exc
        if buf.tell() != len(data):
            # Trailing bytes mean the wrong schema or a corrupt body, not a valid event.
            left = len(data) - buf.tell()
            raise SerializationError(f"cannot decode {schema_name}: {left} bytes left over")
        if not isinstance(record, dict):
            raise SerializationError(f"cannot decode {schema_name}: not a record")
        return self.envelope_of(schema_name, record)

    def envelope_of(self, schema_name: str, record: dict[str, Any]) -> EventEnvelope:
        cls = self.event_class(schema_name)
        try:
            metadata = _build(EventMetadata, record["metadata"])
            event: Event = _build(cls, record)
        except (KeyError, TypeError, ValueError) as exc:
            raise SerializationError(f"record does not fit {cls.__name__}: {exc!r}") from exc
        return EventEnvelope(metadata=metadata, event=event)


@cache
def default_codec() -> AvroCodec:
    return AvroCodec(all_events())


def current_schema(schema_name: str) -> Any | None:
    """The running code's parsed schema of a record (the reader schema when replaying old
    events); None for a record this code has no event class for."""
    try:
        return default_codec().parsed_schema(schema_name)
    except SerializationError:
        return None


# --- envelope <-> record (plain dicts fastavro understands) ------------------------------------


def _to_avro(value: Any) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: _to_avro(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, list | tuple):
        return [_to_avro(v) for v in value]
    return value


def record_of(envelope: EventEnvelope) -> dict[str, Any]:
    """The Avro record (a dict) for an envelope: ``metadata`` first, then the payload fields."""
    meta, event = envelope.metadata, envelope.event
    if meta.event_type != event.event_type or meta.aggregate_type != event.aggregate_type:
        # A mismatch would publish a record whose header and body disagree; fail loudly here.
        raise SerializationError(
            f"metadata says {meta.aggregate_type}/{meta.event_type} but the event is "
            f"{type(event).__name__} ({event.aggregate_type}/{event.event_type})"
        )
    return {"metadata": _to_avro(meta), **_to_avro(event)}


def _from_avro(tp: Any, value: Any) -> Any:
    if (inner := optional_inner(tp)) is not None:
        return None if value is None else _from_avro(inner, value)
    if (item := sequence_item(tp)) is not None:
        items = [_from_avro(item, v) for v in value]
        return tuple(items) if typing.get_origin(tp) is tuple else items
    if isinstance(tp, type) and dataclasses.is_dataclass(tp):
        return _build(tp, value)
    if isinstance(tp, type) and issubclass(tp, enum.Enum):
        return tp(value)
    if tp is datetime and isinstance(value, datetime):
        return value.astimezone(UTC)
    return value


@cache
def _hints(cls: type) -> dict[str, Any]:
    return typing.get_type_hints(cls)


def _build(cls: type, record: dict[str, Any]) -> Any:
    hints = _hints(cls)
    return cls(
        **{
            f.name: _from_avro(hints[f.name], record[f.name])
            for f in dataclasses.fields(cls)
            if f.init
        }
    )


def envelope_of(schema_name: str, record: dict[str, Any]) -> EventEnvelope:
    """Rebuild the typed envelope from a decoded record of the named schema."""
    return default_codec().envelope_of(schema_name, record)


# --- bytes ---------------------------------------------------------------------------------------


def encode(envelope: EventEnvelope) -> tuple[str, bytes]:
    """(record full name, schemaless Avro binary). Framing is separate: see ``frame``."""
    return default_codec().encode(envelope)


def _explain(schema: Any, record: dict[str, Any], exc: Exception) -> str:
    # The writer's own errors rarely name the field; the validator does. Run it only on failure
    # so the hot path pays nothing for it.
    try:
        validate(record, schema, raise_errors=True)
    except ValidationError as verr:
        return "; ".join(str(e) for e in verr.errors)
    except Exception:  # noqa: S110 - best effort: fall back to the writer's message
        pass
    return repr(exc)


def decode(schema_name: str, data: bytes, writer_schema: Any = None) -> EventEnvelope:
    """Bytes of ``schema_name`` back to the typed envelope.

    ``writer_schema`` (parsed) is the schema the producer used, when a consumer got an older or
    newer version from the registry; Avro resolution then maps it onto today's classes.
    """
    return default_codec().decode(schema_name, data, writer_schema)


def frame(schema_id: int, body: bytes) -> bytes:
    """Confluent wire format: magic byte 0, 4-byte big-endian schema id, Avro body."""
    try:
        return _HEADER.pack(MAGIC_BYTE, schema_id) + body
    except struct.error as exc:
        raise SerializationError(f"schema id {schema_id} does not fit 4 bytes") from exc


def unframe(data: bytes) -> tuple[int, bytes]:
    """(schema id, Avro body) from a Confluent-framed message."""
    try:
        magic, schema_id = _HEADER.unpack_from(data)
    except struct.error as exc:
        raise SerializationError(
            f"message of {len(data)} bytes is too short for the Confluent header"
        ) from exc
    if magic != MAGIC_BYTE:
        raise SerializationError(f"unknown magic byte {magic}; not Confluent-framed Avro")
    return schema_id, bytes(data[_HEADER.size :])
