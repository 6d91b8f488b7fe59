"""The batched consumer loop, for handlers whose effect is idempotent without an inbox.

A read model keyed by ``aggregate_version`` needs no Postgres inbox: applying an event twice
leaves what applying it once did. Such a handler gets the batch path: consume up to
``max_batch`` messages, decode and prepare each, apply them all in one round trip, and only
then store each partition's next offset. At least once, as on the per-message path
(``consumers.base``): nothing is stored before the effect, a crash redelivers the batch, and
the handler's idempotence absorbs the repeat.

Per message, what cannot be read is dead-lettered with the cause (``DeadLetters``), as on the
per-message path; transient failures (registry, store or dead-letter topic unreachable) are
retried with backoff, never dead-lettered. If the store refuses a whole batch for a reason that
is not transient, the batch is applied one message at a time, so only the guilty one goes to
the dead letters. SIGTERM/SIGINT finish the batch in hand and commit it.
"""

from __future__ import annotations

import contextvars
import signal
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, Protocol, TypeVar

import structlog
from confluent_kafka import Consumer, KafkaException, Message, TopicPartition

from consumers.base import checked_event_id, header, is_transient
from consumers.dlq import DeadLetters
from consumers.kafka_config import consumer_config
from producers.kafka_config import producer_config
from producers.topics import Topics
from schemas.decoder import RegistryDecoder

log = structlog.get_logger(__name__)
T = TypeVar("T")


class BatchHandler(Protocol):
    name: str  # consumer group and dead-letter topic suffix
    topics: Sequence[str]

    def prepare(self, schema_name: str, record: dict[str, Any]) -> Any:
        """What one decoded event contributes (no side effect); raise if it is poison."""

    def apply(self, prepared: Sequence[Any]) -> None:
        """Apply what a batch contributes, in order, in one go; idempotent."""


class BatchConsumer:
    """One batch handler's consumer: group ``topics.group(handler.name)``, dead letters to
    ``topics.dlq(handler.name)``."""

    def __init__(
        self,
        handler: BatchHandler,
        *,
        bootstrap: str,
        topics: Topics,
        decoder: RegistryDecoder,
        max_batch: int = 2000,
        max_backoff: float = 30.0,
        **consumer_overrides: Any,
    ) -> None:
        self.handler = handler
        self._decoder = decoder
        self._dead_letters = DeadLetters(
            bootstrap, topics, handler.name, producer_config(bootstrap)
        )
        self._config = consumer_config(bootstrap, topics.group(handler.name), **consumer_overrides)
        self._max_batch = max_batch
        self._max_backoff = max_backoff
        self._stop = threading.Event()
        self.applied = self.dead_lettered = self.batches = 0
        self.first_message_at: float | None = None  # monotonic; for benchmarks

    def run(self) -> None:
        """Consume until SIGTERM/SIGINT or ``stop()``; the batch in hand is finished first.

        While one batch is applied (on a thread of its own: the store's round trip releases the
        GIL), the next is consumed and prepared; only one is ever in flight, and a batch's
        offsets are stored only once it is applied, in order."""
        if threading.current_thread() is threading.main_thread():
            for sig in (signal.SIGTERM, signal.SIGINT):
                signal.signal(sig, lambda *_: self.stop())
        consumer = Consumer(self._config)
        consumer.subscribe(list(self.handler.topics))
        applier = ThreadPoolExecutor(1, thread_name_prefix=f"{self.handler.name}-apply")
        in_flight: tuple[Future[bool], Sequence[Message]] | None = None
        try:
            while not self._stop.is_set():
                messages = consumer.consume(self._max_batch, 0.5 if in_flight is None else 0.0)
                ready = self._prepare_all(messages) if messages else None
                if in_flight is not None:
                    applied = self._finish(consumer, *in_flight)
                    in_flight = None
                    if not applied:
                        # stopped while that batch was retried: nothing after it may be
                        # applied or stored either, or its offsets would pass the unapplied
                        # one (the group re-reads both from the last commit)
                        break
                if ready is not None:
                    if self.first_message_at is None:
                        self.first_message_at = time.monotonic()
                    run_here = contextvars.copy_context().run
                    in_flight = (applier.submit(run_here, self._apply_all, ready), messages)
            if in_flight is not None:
                self._finish(consumer, *in_flight)
        finally:
            applier.shutdown(wait=True)
            consumer.close()  # commits the stored offsets
            self._dead_letters.close()

    def stop(self) -> None:
        self._stop.set()

    def process(self, messages: Sequence[Message]) -> bool:
        """Apply or dead-letter every message; False only if stopped while retrying (then
        nothing is stored and the batch comes again)."""
        ready = self._prepare_all(messages)
        return ready is not None and self._apply_all(ready)

    def _finish(
        self, consumer: Consumer, applied: Future[bool], messages: Sequence[Message]
    ) -> bool:
        """Wait for a batch in flight; store its offsets if it was applied (True)."""
        if not applied.result():
            return False
        _store_offsets(consumer, messages)
        return True

    def _prepare_all(self, messages: Sequence[Message]) -> list[tuple[Message, Any]] | None:
        structlog.contextvars.clear_contextvars()
        structlog.contextvars.bind_contextvars(consumer=self.handler.name, batch=len(messages))
        ready: list[tuple[Message, Any]] = []
        for msg in messages:
            if (err := msg.error()) is not None:
                if err.fatal():
                    raise KafkaException(err)
                log.warning("consumer.kafka_error", error=str(err))
                continue
            done, prepared = self._retrying(lambda m=msg: self._prepare(m))  # type: ignore[misc]
            if not done:
                return None
            if prepared is not _POISON:
                ready.append((msg, prepared))
        return ready

    def _apply_all(self, ready: list[tuple[Message, Any]]) -> bool:
        done, _ = self._retrying(lambda: self._apply(ready))
        if done:
            self.batches += 1
        return done

    def _prepare(self, msg: Message) -> Any:
        try:
            decoded = self._decoder.decode(msg.value())
            checked_event_id(decoded.record, header(msg, "event_id"))
            return self.handler.prepare(decoded.schema_name, decoded.record)
        except Exception as exc:
            if is_transient(exc):
                raise
            self._dead_letter(msg, exc)
            return _POISON

    def _apply(self, ready: list[tuple[Message, Any]]) -> None:
        try:
            self.handler.apply([prepared for _, prepared in ready])
            self.applied += len(ready)
            return
        except Exception as exc:
            if is_transient(exc):
                raise
            log.warning("consumer.batch_refused", error=str(exc), messages=len(ready))
        for msg, prepared in ready:  # find the one the store refuses; apply the others
            try:
                self.handler.apply([prepared])
                self.applied += 1
            except Exception as exc:
                if is_transient(exc):
                    raise
                self._dead_letter(msg, exc)

    def _dead_letter(self, msg: Message, exc: Exception) -> None:
        log.error(
            "consumer.dead_letter",
            error=str(exc),
            error_type=type(exc).__name__,
            topic=msg.topic(),
            partition=msg.partition(),
            offset=msg.offset(),
        )
        self._dead_letters.send(msg, exc)
        self.dead_lettered += 1

    def _retrying(self, step: Callable[[], T]) -> tuple[bool, T | None]:
        """(True, its value) once ``step`` succeeds; transient failures are retried with backoff
        until it does, or (False, None) if stopped meanwhile."""
        backoff = 0.5
        while True:
            try:
                return True, step()
            except Exception as exc:
                if not is_transient(exc):
                    raise
                log.warning("consumer.retry", error=str(exc), backoff_s=backoff)
                if self._stop.wait(backoff):
                    return False, None
                backoff = min(backoff * 2, self._max_backoff)


_POISON = object()  # a prepared value that means "dead-lettered, skip it"


def _store_offsets(consumer: Consumer, messages: Sequence[Message]) -> None:
    """Each partition's next offset, after the batch's effect."""
    last: dict[tuple[str, int], int] = {}
    for msg in messages:
        if msg.error() is None:
            last[(str(msg.topic()), int(msg.partition() or 0))] = int(msg.offset() or 0)
    offsets = [TopicPartition(t, p, o + 1) for (t, p), o in last.items()]
    try:
        consumer.store_offsets(offsets=offsets)
    except KafkaException as exc:
        # A rebalance took a partition away mid-batch: its new owner re-reads from the last
        # commit, and the handler's idempotence makes that harmless.
        log.warning("consumer.store_offsets_failed", error=str(exc))
