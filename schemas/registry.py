"""Schema registry: subjects (TopicRecordNameStrategy), FULL_TRANSITIVE, and the ids we frame with.

Several event types share one topic, so the subject is ``<topic>-<record full name>``; this is
what a stock ``AvroSerializer`` with ``topic_record_subject_name_strategy`` would use, so
project and non-project producers agree. Topic names are the caller's (``topic_for``): the
schemas layer knows records, not where they are published. Clients are built by the caller
(bootstrap), never at import time.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from typing import Any

from confluent_kafka.schema_registry import Schema, SchemaRegistryClient
from confluent_kafka.schema_registry.error import SchemaRegistryError

from domains.shared.messages import Event
from schemas.avro_codec import committed_schema
from schemas.catalog import all_events, record_name_of
from schemas.fingerprints import fingerprint

COMPATIBILITY = "FULL_TRANSITIVE"
_SUBJECT_NOT_FOUND = 40401
_CONFLICT = 409


class RegistryError(Exception):
    """The registry refused or could not be reached; the message names the subject."""


def subject_for(topic: str, record_full_name: str) -> str:
    """TopicRecordNameStrategy: ``lis.sample.events-lis.sample.SampleCollected``."""
    return f"{topic}-{record_full_name}"


def registry_client(url: str, timeout_s: float = 10.0) -> SchemaRegistryClient:
    """A client with a timeout: without one, a lost registry response stalls its caller for
    good (seen with Apicurio on kept-alive connections)."""
    return SchemaRegistryClient({"url": url, "timeout": timeout_s})


def ensure_global_compatibility(client: SchemaRegistryClient) -> None:
    """Make FULL_TRANSITIVE the registry-wide default (``PUT /config``).

    Per-subject levels are only set by ``SchemaIds`` and only once a subject exists; a subject
    created any other way (a stock ``AvroSerializer`` with ``auto.register.schemas``, a tool)
    would otherwise get the registry's default (often NONE), and its second version could break
    every reader of data kept forever.
    """
    try:
        if client.get_compatibility() != COMPATIBILITY:
            client.set_compatibility(level=COMPATIBILITY)
    except SchemaRegistryError as exc:
        raise RegistryError(f"global compatibility: {exc}") from exc


def avro_schema(schema: dict[str, Any]) -> Schema:
    # Compact JSON: the registry stores the text, and one canonical text per schema keeps
    # re-registration idempotent (same text -> same id) across machines.
    return Schema(json.dumps(schema, separators=(",", ":")), schema_type="AVRO")


class SchemaIds:
    """Registers each event schema under its subject and remembers the id per record name."""

    def __init__(
        self,
        client: SchemaRegistryClient,
        topic_for: Callable[[type[Event]], str],
        events: Iterable[type[Event]] | None = None,
        schema_for: Callable[[type[Event]], dict[str, Any]] = committed_schema,
    ) -> None:
        self._client = client
        self._events = {record_name_of(c): c for c in (all_events() if events is None else events)}
        self._schema_for = schema_for
        self._topic_for = topic_for
        self._ids: dict[str, int] = {}
        self._fingerprints: dict[str, str] = {}
        self._global_checked = False

    def subject_of(self, record_name: str) -> str:
        return subject_for(self._topic_for(self._event(record_name)), record_name)

    def register_all(self) -> dict[str, int]:
        """Set the global FULL_TRANSITIVE default, then register every schema (idempotent);
        returns subject -> schema id."""
        self._ensure_global()
        return {self.subject_of(name): self.id_for(name) for name in self._events}

    def id_for(self, record_name: str) -> int:
        """The schema id to frame ``record_name`` with; registers on first use."""
        if record_name not in self._ids:
            self._ids[record_name] = self._register(record_name)
        return self._ids[record_name]

    def knows(self, record_name: str) -> bool:
        return record_name in self._events

    def fingerprint_of(self, record_name: str) -> str:
        """The fingerprint of the running code's schema for ``record_name`` (see fingerprints)."""
        if record_name not in self._fingerprints:
            schema = self._schema_for(self._event(record_name))
            self._fingerprints[record_name] = fingerprint(schema)
        return self._fingerprints[record_name]

    def _event(self, record_name: str) -> type[Event]:
        try:
            return self._events[record_name]
        except KeyError as exc:
            raise RegistryError(f"no event class for Avro record {record_name}") from exc

    def _ensure_global(self) -> None:
        # Once per instance: every path that registers (``lis schemas register``, ``lis demo``,
        # the relay's lazy ``id_for``) leaves the registry-wide default right as well.
        if not self._global_checked:
            ensure_global_compatibility(self._client)
            self._global_checked = True

    def _register(self, record_name: str) -> int:
        self._ensure_global()
        subject = self.subject_of(record_name)
        schema = avro_schema(self._schema_for(self._event(record_name)))
        try:
            # Compatibility first, so even the second version of a subject is checked. A new
            # subject may not accept config until it exists: then register, and set it after.
            try:
                self._set_compatibility(subject)
            except SchemaRegistryError as exc:
                if exc.error_code != _SUBJECT_NOT_FOUND and exc.http_status_code != 404:
                    raise
                schema_id = self._client.register_schema(subject, schema)
                self._set_compatibility(subject)
                return int(schema_id)
            return int(self._client.register_schema(subject, schema))
        except SchemaRegistryError as exc:
            raise RegistryError(f"{subject}: {exc}") from exc

    def _set_compatibility(self, subject: str) -> None:
        try:
            self._client.set_compatibility(subject_name=subject, level=COMPATIBILITY)
        except SchemaRegistryError as exc:
            # Two relay workers setting one subject's level at once: Apicurio creates the rule
            # for both and refuses the second with 409. It exists now: setting it again updates.
            if exc.http_status_code != _CONFLICT:
                raise
            self._client.set_compatibility(subject_name=subject, level=COMPATIBILITY)
