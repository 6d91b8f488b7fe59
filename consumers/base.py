"""The consumer loop every processor shares: decode, apply once, then move the offset.

Per message: log context is reset and bound to the message's flow ids; the Confluent-framed
value is decoded with the writer schema fetched from the registry by id (cached,
``schemas.decoder``); the handler
runs in one DB transaction that first claims the event id in the inbox, so a redelivered event
is a no-op; only after that commit is the offset stored (at least once). The id claimed is the
one inside the Avro payload (``metadata.event_id``), never the header: headers are copied and
edited by tools and re-fed dead letters, the payload is what the event is. A message whose
``event_id`` header disagrees with its payload is dead-lettered, not guessed at. A message that
cannot be decoded or whose handler fails for a non-transient reason is dead-lettered and skipped;
transient failures (database or registry unreachable) are retried with backoff, never
dead-lettered: an outage must not turn every event into poison.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import Any, Protocol

import psycopg
import structlog
from confluent_kafka import Consumer, KafkaException, Message
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session, sessionmaker

from consumers.dlq import DeadLetterError, DeadLetters
from consumers.inbox import claim
from consumers.kafka_config import consumer_config
from domains.shared.messages import EventEnvelope
from producers.kafka_config import producer_config
from producers.topics import Topics
from schemas import avro_codec
from schemas.avro_codec import SerializationError
from schemas.decoder import RegistryDecoder, RegistryUnavailable

log = structlog.get_logger(__name__)


class TransientError(Exception):
    """Raise from a handler to have the message retried later instead of dead-lettered."""


class EnvelopeMismatchError(Exception):
    """Headers and payload name different events: whichever we trusted, we could apply the
    wrong one or skip a real one as a duplicate, so the message goes to the dead letters."""


def is_transient(exc: BaseException) -> bool:
    transient = (TransientError, RegistryUnavailable, DeadLetterError, psycopg.OperationalError)
    if isinstance(exc, transient):
        return True
    # SQLAlchemy marks errors that mean "the connection is gone" (server restart, network).
    return isinstance(exc, DBAPIError) and (
        exc.connection_invalidated or isinstance(exc.orig, psycopg.OperationalError)
    )


@dataclass(frozen=True)
class Received:
    """One decoded message as a handler sees it."""

    topic: str
    partition: int
    offset: int
    key: str | None
    headers: dict[str, str]
    schema_name: str
    record: dict[str, Any]
    body: bytes
    writer_schema: Any

    @property
    def event_id(self) -> str | None:
        """The payload's ``metadata.event_id``: the header is only a copy for routers/tools."""
        metadata = self.record.get("metadata")
        event_id = metadata.get("event_id") if isinstance(metadata, dict) else None
        return event_id if isinstance(event_id, str) and event_id else None

    @cached_property
    def envelope(self) -> EventEnvelope:
        """The typed event, resolved from the writer's schema onto today's classes."""
        return avro_codec.decode(self.schema_name, self.body, self.writer_schema)


class Handler(Protocol):
    name: str  # consumer group, inbox consumer and dead-letter topic suffix
    topics: Sequence[str]

    def handle(self, message: Received, session: Session) -> None: ...


def received(msg: Message, decoder: RegistryDecoder) -> Received:
    """Decode one consumed message (``SerializationError`` / ``RegistryUnavailable``)."""
    decoded = decoder.decode(msg.value())
    raw_key = msg.key()
    return Received(
        topic=str(msg.topic()),
        partition=int(msg.partition() or 0),
        offset=int(msg.offset() or 0),
        key=raw_key.decode() if isinstance(raw_key, bytes) else raw_key,
        headers=_headers(msg),
        schema_name=decoded.schema_name,
        record=decoded.record,
        body=decoded.body,
        writer_schema=decoded.writer_schema,
    )


def checked_event_id(record: dict[str, Any], header_id: str | None) -> str:
    """The payload's event id, refusing a record without one or whose header disagrees."""
    metadata = record.get("metadata")
    event_id = metadata.get("event_id") if isinstance(metadata, dict) else None
    if not isinstance(event_id, str) or not event_id:
        raise SerializationError("no metadata.event_id in the payload; cannot apply once")
    if header_id is not None and header_id != event_id:
        raise EnvelopeMismatchError(
            f"event_id header {header_id!r} disagrees with payload event_id {event_id!r}"
        )
    return event_id


def header(msg: Message, name: str) -> str | None:
    """One header's value, without building them all (this runs for every message)."""
    # A consumed message's headers are a list of (name, bytes | None), never a dict.
    pairs: list[tuple[str, Any]] = msg.headers() or []  # type: ignore[assignment]
    for key, value in pairs:
        if key == name and isinstance(value, bytes):
            return value.decode(errors="replace")
    return None


def _headers(msg: Message) -> dict[str, str]:
    # A consumed message's headers are a list of (name, bytes | None), never a dict.
    pairs: list[tuple[str, Any]] = list(msg.headers() or [])  # type: ignore[arg-type]
    return {k: v.decode(errors="replace") for k, v in pairs if isinstance(v, bytes)}


class ConsumerBase:
    """One handler's consumer: group ``topics.group(handler.name)``, dead letters to
    ``topics.dlq(handler.name)``."""

    def __init__(
        self,
        handler: Handler,
        *,
        bootstrap: str,
        topics: Topics,
        session_factory: sessionmaker[Session],
        decoder: RegistryDecoder,
        max_backoff: float = 30.0,
        **consumer_overrides: Any,
    ) -> None:
        self.handler = handler
        self._sessions = session_factory
        self._decoder = decoder
        self._dead_letters = DeadLetters(
            bootstrap, topics, handler.name, producer_config(bootstrap)
        )
        self._config = consumer_config(bootstrap, topics.group(handler.name), **consumer_overrides)
        self._max_backoff = max_backoff
        self._stop = threading.Event()
        self.applied = self.duplicates = self.dead_lettered = 0

    def run(self) -> None:
        """Consume until SIGTERM/SIGINT or ``stop()``; the message in hand is finished first."""
        if threading.current_thread() is threading.main_thread():
            for sig in (signal.SIGTERM, signal.SIGINT):
                signal.signal(sig, lambda *_: self.stop())
        consumer = Consumer(self._config)
        consumer.subscribe(list(self.handler.topics))
        try:
            while not self._stop.is_set():
                msg = consumer.poll(0.5)
                if msg is None:
                    continue
                if (err := msg.error()) is not None:
                    if err.fatal():
                        raise KafkaException(err)
                    log.warning("consumer.kafka_error", error=str(err))
                    continue
                if self.process(msg):
                    consumer.store_offsets(message=msg)
        finally:
            consumer.close()  # commits the stored offsets
            self._dead_letters.close()

    def stop(self) -> None:
        self._stop.set()

    def process(self, msg: Message) -> bool:
        """Apply or dead-letter one message; False only if stopped while retrying."""
        headers = _headers(msg)
        structlog.contextvars.clear_contextvars()
        structlog.contextvars.bind_contextvars(
            consumer=self.handler.name,
            correlation_id=headers.get("correlation_id"),
            causation_id=headers.get("causation_id"),
            event_type=headers.get("event_type"),
            topic=msg.topic(),
            partition=msg.partition(),
            offset=msg.offset(),
        )
        backoff = 0.5
        while True:
            try:
                try:
                    self._apply(msg)
                except Exception as exc:
                    if is_transient(exc):
                        raise
                    log.error("consumer.dead_letter", error=str(exc), error_type=type(exc).__name__)
                    self._dead_letters.send(msg, exc)
                    self.dead_lettered += 1
                return True
            except Exception as exc:
                if not is_transient(exc):
                    raise
                log.warning("consumer.retry", error=str(exc), backoff_s=backoff)
                if self._stop.wait(backoff):
                    return False  # not applied: the offset stays, the message comes again
                backoff = min(backoff * 2, self._max_backoff)

    def _apply(self, msg: Message) -> None:
        message = received(msg, self._decoder)
        event_id = checked_event_id(message.record, message.headers.get("event_id"))
        with self._sessions.begin() as session:
            if not claim(session, self.handler.name, event_id):
                self.duplicates += 1
                log.info("consumer.duplicate", event_id=event_id)
                return
            self.handler.handle(message, session)
        self.applied += 1
