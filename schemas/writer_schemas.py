"""The registry id to frame an outbox row with: the id of the schema the row was WRITTEN with.

During a rolling deploy (or with rows left in the outbox across an upgrade) the writer of a row
may be older or newer than the relay. Framing its bytes with the relay's own schema id would
make every consumer decode v1 bytes with v2 (silently wrong data or a poison message), so each
row carries its writer schema's fingerprint and this resolves (subject, fingerprint) -> id:

- the relay's own schema when the fingerprint matches (registered on first use), and for rows
  without a fingerprint (written before migration 0004, see there);
- otherwise the registry's versions of the subject, matched by fingerprint;
- nothing matches: ``UnknownWriterSchemaError``, which stops the relay.

Registered ids never change, so every resolution is cached for the life of the process.
"""

from __future__ import annotations

from confluent_kafka.schema_registry import SchemaRegistryClient
from confluent_kafka.schema_registry.error import SchemaRegistryError

from schemas.fingerprints import UNKNOWN, UnknownWriterSchemaError, fingerprint
from schemas.registry import RegistryError, SchemaIds, subject_for

_SUBJECT_NOT_FOUND = 40401


class WriterSchemaIds:
    """``(topic, record name, fingerprint) -> schema id``: the relay's ``SchemaIdLookup``."""

    def __init__(self, ids: SchemaIds, client: SchemaRegistryClient) -> None:
        self._ids = ids
        self._client = client
        self._resolved: dict[tuple[str, str, str], int] = {}
        self._versions: dict[tuple[str, int], tuple[int, str]] = {}  # -> (id, fingerprint)

    def __call__(self, topic: str, schema_name: str, fingerprint: str) -> int:
        key = (topic, schema_name, fingerprint)
        found = self._resolved.get(key)
        if found is None:
            found = self._resolved[key] = self._resolve(topic, schema_name, fingerprint)
        return found

    def _resolve(self, topic: str, schema_name: str, wanted: str) -> int:
        ids = self._ids
        if ids.knows(schema_name) and wanted in (UNKNOWN, ids.fingerprint_of(schema_name)):
            return ids.id_for(schema_name)
        subject = subject_for(topic, schema_name)
        if wanted == UNKNOWN:
            raise UnknownWriterSchemaError(
                f"{subject}: a row without a schema fingerprint, and this relay has no schema "
                f"for {schema_name}; run a relay whose code knows the event"
            )
        # Newest first: rows from an older writer are usually one version behind.
        for version in sorted(self._subject_versions(subject), reverse=True):
            schema_id, registered = self._version(subject, version)
            if registered == wanted:
                return schema_id
        raise UnknownWriterSchemaError(
            f"{subject}: no registered version has the fingerprint {wanted} of an outbox row; "
            "register the writer's schema (start the code that wrote it, or `lis schemas "
            "register` from it), then restart the relay"
        )

    def _subject_versions(self, subject: str) -> list[int]:
        try:
            return list(self._client.get_versions(subject))
        except SchemaRegistryError as exc:
            if exc.error_code == _SUBJECT_NOT_FOUND or exc.http_status_code == 404:
                return []
            raise RegistryError(f"{subject}: {exc}") from exc

    def _version(self, subject: str, version: int) -> tuple[int, str]:
        if (subject, version) not in self._versions:
            try:
                registered = self._client.get_version(subject, version)
            except SchemaRegistryError as exc:
                raise RegistryError(f"{subject} version {version}: {exc}") from exc
            text = registered.schema.schema_str if registered.schema else None
            if registered.schema_id is None or not text:
                raise RegistryError(f"{subject} version {version} has no id or schema text")
            self._versions[(subject, version)] = (registered.schema_id, fingerprint(text))
        return self._versions[(subject, version)]
