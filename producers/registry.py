"""Schema registry: subjects (TopicRecordNameStrategy), FULL_TRANSITIVE, and the ids we frame with.

Several event types share one topic, so the subject is ``<topic>-<record full name>``; this is
what a stock ``AvroSerializer`` with ``topic_record_subject_name_strategy`` would use, so
project and non-project producers agree. Clients are built by the caller (bootstrap), never at
import time.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from typing import Any

import fastavro
from confluent_kafka.schema_registry import Schema, SchemaRegistryClient
from confluent_kafka.schema_registry.error import SchemaRegistryError

from domains.shared.messages import Event
from infra.settings import get_settings
from producers.avro_codec import committed_schema
from schemas.catalog import all_events, record_name_of, topic_of

COMPATIBILITY = "FULL_TRANSITIVE"
_SUBJECT_NOT_FOUND = 40401


class RegistryError(Exception):
    """The registry refused or could not be reached; the message names the subject."""


def subject_for(topic: str, record_full_name: str) -> str:
    """TopicRecordNameStrategy: ``lis.sample.events-lis.sample.SampleCollected``."""
    return f"{topic}-{record_full_name}"


def registry_client(url: str | None = None, timeout_s: float = 10.0) -> SchemaRegistryClient:
    return SchemaRegistryClient(
        {"url": url or get_settings().schema_registry_url, "timeout": timeout_s}
    )


def avro_schema(schema: dict[str, Any]) -> Schema:
    # Compact JSON: the registry stores the text, and one canonical text per schema keeps
    # re-registration idempotent (same text -> same id) across machines.
    return Schema(json.dumps(schema, separators=(",", ":")), schema_type="AVRO")


class SchemaIds:
    """Registers each event schema under its subject and remembers the id per record name."""

    def __init__(
        self,
        client: SchemaRegistryClient,
        events: Iterable[type[Event]] | None = None,
        schema_for: Callable[[type[Event]], dict[str, Any]] = committed_schema,
        topic_for: Callable[[type[Event]], str] = topic_of,
    ) -> None:
        self._client = client
        self._events = {record_name_of(c): c for c in (all_events() if events is None else events)}
        self._schema_for = schema_for
        self._topic_for = topic_for
        self._ids: dict[str, int] = {}
        self._writers: dict[int, tuple[str, Any]] = {}

    def subject_of(self, record_name: str) -> str:
        return subject_for(self._topic_for(self._event(record_name)), record_name)

    def register_all(self) -> dict[str, int]:
        """Register every schema (idempotent); returns subject -> schema id."""
        return {self.subject_of(name): self.id_for(name) for name in self._events}

    def id_for(self, record_name: str) -> int:
        """The schema id to frame ``record_name`` with; registers on first use."""
        if record_name not in self._ids:
            self._ids[record_name] = self._register(record_name)
        return self._ids[record_name]

    def writer_schema(self, schema_id: int) -> tuple[str, Any]:
        """(record full name, parsed schema) for a framed message's id: what a consumer needs
        to ``decode`` bytes written with an older or newer version."""
        if schema_id not in self._writers:
            try:
                text = self._client.get_schema(schema_id).schema_str
            except SchemaRegistryError as exc:
                raise RegistryError(f"schema id {schema_id}: {exc}") from exc
            if not text:
                raise RegistryError(f"schema id {schema_id} has no schema text")
            parsed = fastavro.parse_schema(json.loads(text), named_schemas={})
            if not isinstance(parsed, dict) or parsed.get("type") != "record":
                raise RegistryError(f"schema id {schema_id} is not an Avro record")
            # fastavro's parsed "name" is the full name; registries such as Apicurio hand the
            # text back split into name + namespace.
            self._writers[schema_id] = (parsed["name"], parsed)
        return self._writers[schema_id]

    def _event(self, record_name: str) -> type[Event]:
        try:
            return self._events[record_name]
        except KeyError as exc:
            raise RegistryError(f"no event class for Avro record {record_name}") from exc

    def _register(self, record_name: str) -> int:
        subject = self.subject_of(record_name)
        schema = avro_schema(self._schema_for(self._event(record_name)))
        try:
            # Compatibility first, so even the second version of a subject is checked. A new
            # subject may not accept config until it exists: then register, and set it after.
            try:
                self._client.set_compatibility(subject_name=subject, level=COMPATIBILITY)
            except SchemaRegistryError as exc:
                if exc.error_code != _SUBJECT_NOT_FOUND and exc.http_status_code != 404:
                    raise
                schema_id = self._client.register_schema(subject, schema)
                self._client.set_compatibility(subject_name=subject, level=COMPATIBILITY)
                return int(schema_id)
            return int(self._client.register_schema(subject, schema))
        except SchemaRegistryError as exc:
            raise RegistryError(f"{subject}: {exc}") from exc
