"""The relay's Kafka side: frame rows, produce them, and know when Kafka has them all.

Each row is framed with the registry id of the schema it was WRITTEN with (``schema_ids``, in
production ``producers.writer_schemas``), cached per (topic, record, fingerprint). Acks are
confirmed by ``flush()`` plus error reports only (``delivery.report.only.error``): no Python
callback per message.
"""

from __future__ import annotations

import json
from time import perf_counter
from typing import Any, Protocol

import structlog
from confluent_kafka import KafkaError, Message, Producer

from producers.outbox_reader import Row
from schemas.avro_codec import frame

log = structlog.get_logger(__name__)

_STANDARD_HEADERS = ("event_type", "event_id", "correlation_id", "causation_id")
Headers = list[tuple[str, str | bytes | None]]


class SchemaIdLookup(Protocol):
    """The registry id of the schema a row was written with: its record full name as
    registered for ``topic``, and the SHA-256 fingerprint the writer stored ('' = unknown)."""

    def __call__(self, topic: str, schema_name: str, fingerprint: str) -> int: ...


class DeliveryFailedError(Exception):
    """Kafka did not acknowledge every message of a batch; the batch stays in the outbox."""


class RelayProducer:
    def __init__(
        self,
        producer_config: dict[str, Any],
        schema_ids: SchemaIdLookup,
        flush_timeout: float,
        seconds: dict[str, float],
    ) -> None:
        self._producer_config = producer_config
        self._schema_ids = schema_ids
        self._flush_timeout = flush_timeout
        self._seconds = seconds  # the relay's phase timings: produce, flush
        self._producer: Producer | None = None
        self._prefixes: dict[tuple[str, str, str], bytes] = {}
        self._errors: list[KafkaError] = []

    def warm_up(self) -> None:
        self._get_producer().list_topics(timeout=10)

    def produce(self, rows: list[Row]) -> None:
        """Queue rows ``(id, topic, key, schema_name, fingerprint, payload, 4 headers, rest)``."""
        if self._errors:
            # A delivery already failed: sending later rows now would put a gap in some
            # aggregate's order (A1 A2 A4, A3 re-sent later). Stop; the pass is retried whole.
            first = self._errors[0]
            self._errors.clear()
            raise DeliveryFailedError(f"{len(rows)} rows kept in the outbox: {first}")
        producer = self._get_producer()
        started = perf_counter()
        prefixes, produce = self._prefixes, producer.produce
        for _id, topic, key, name, fp, payload, typ, eid, corr, cause, rest in rows:
            prefix = prefixes.get((topic, name, fp)) or self._prefix(topic, name, fp)
            if rest is None and typ and eid and corr and cause:  # the usual case, inlined
                headers: Headers = [
                    ("event_type", typ), ("event_id", eid),
                    ("correlation_id", corr), ("causation_id", cause),
                ]  # fmt: skip
            else:
                headers = _headers([typ, eid, corr, cause], rest)
            try:
                produce(topic, prefix + payload, key, headers=headers)
            except BufferError:  # local queue full: let librdkafka send, then retry once more
                producer.flush(self._flush_timeout)
                produce(topic, prefix + payload, key, headers=headers)
        self._seconds["produce"] += perf_counter() - started

    def await_acks(self, count: int) -> None:
        """Wait until Kafka acknowledged everything produced; else ``DeliveryFailedError``."""
        started = perf_counter()
        remaining = self._get_producer().flush(self._flush_timeout)
        self._seconds["flush"] += perf_counter() - started
        if remaining or self._errors:
            first = self._errors[0] if self._errors else f"{remaining} unacknowledged"
            self._errors.clear()
            raise DeliveryFailedError(f"{count} rows kept in the outbox: {first}")

    def close(self) -> None:
        if self._producer is not None:
            self._producer.flush(self._flush_timeout)

    def _prefix(self, topic: str, schema_name: str, fingerprint: str) -> bytes:
        """Confluent frame header: magic byte 0 and the 4-byte big-endian schema id."""
        prefix = frame(self._schema_ids(topic, schema_name, fingerprint), b"")
        self._prefixes[(topic, schema_name, fingerprint)] = prefix
        return prefix

    def _get_producer(self) -> Producer:
        if self._producer is None:  # created on first use: constructing a Relay does no I/O
            config = dict(self._producer_config)
            config["on_delivery"] = self._on_delivery
            config["error_cb"] = self._on_error
            self._producer = Producer(config)
        return self._producer

    def _on_delivery(self, err: KafkaError | None, _msg: Message) -> None:
        if err is not None:
            self._errors.append(err)

    def _on_error(self, err: KafkaError) -> None:
        log.warning("relay.kafka_error", error=str(err), fatal=err.fatal())
        if err.fatal():  # the idempotent producer cannot go on; build a new one next pass
            self._errors.append(err)
            self._producer = None


def _headers(standard: list[str | None], rest: str | None) -> Headers:
    """Kafka headers (librdkafka encodes ``str`` values as UTF-8); absent keys are left out."""
    headers: Headers = [
        (k, v) for k, v in zip(_STANDARD_HEADERS, standard, strict=True) if v is not None
    ]
    if rest is not None:
        headers += [(k, v) for k, v in json.loads(rest).items() if v is not None]
    return headers
