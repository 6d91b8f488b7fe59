"""Dead letters: a message a consumer cannot apply goes to ``<namespace>.dlq.<consumer>`` as it
came.

The value and key are the original bytes (so a fixed consumer, or ``lis replay``, can re-feed
them unchanged) and the original headers are kept; ``dlq.*`` headers say why and where from.
"""

from __future__ import annotations

from typing import Any

from confluent_kafka import KafkaError, Message, Producer

from producers.topics import Topics, ensure_topics

_MAX_ERROR_CHARS = 2000  # a header, not a log file: enough for the reason and the field


class DeadLetterError(Exception):
    """The dead letter could not be written; the consumer must not move past the message."""


class DeadLetters:
    def __init__(
        self, bootstrap: str, topics: Topics, consumer: str, producer_config: dict[str, Any]
    ) -> None:
        self._bootstrap = bootstrap
        self._topics = topics
        self.consumer = consumer
        self.topic = topics.dlq(consumer)
        self._config = producer_config
        self._producer: Producer | None = None

    def send(self, msg: Message, error: BaseException) -> None:
        """Write the dead letter and wait for the acknowledgement (poison is rare; be sure)."""
        producer = self._get_producer()
        # Consumed headers are always a list of (str, bytes | None) pairs.
        headers: list[tuple[str, str | bytes | None]] = list(msg.headers() or [])  # type: ignore[arg-type]
        headers += [
            ("dlq.error", str(error)[:_MAX_ERROR_CHARS].encode()),
            ("dlq.error_type", type(error).__name__.encode()),
            ("dlq.source.topic", str(msg.topic()).encode()),
            ("dlq.source.partition", str(msg.partition()).encode()),
            ("dlq.source.offset", str(msg.offset()).encode()),
            ("dlq.consumer", self.consumer.encode()),
        ]
        failures: list[KafkaError] = []

        def on_delivery(err: KafkaError | None, _msg: Message) -> None:
            if err is not None:
                failures.append(err)

        producer.produce(
            self.topic, msg.value(), msg.key(), headers=headers, on_delivery=on_delivery
        )
        if producer.flush(30.0) or failures:
            reason = failures[0] if failures else "not acknowledged in 30 s"
            raise DeadLetterError(f"dead letter to {self.topic} failed: {reason}")

    def close(self) -> None:
        if self._producer is not None:
            self._producer.flush(30.0)

    def _get_producer(self) -> Producer:
        if self._producer is None:
            # The topic is created on demand, with the event topics' keep-forever settings.
            ensure_topics(self._bootstrap, self._topics, [self.topic])
            config = dict(self._config)
            config.pop("delivery.report.only.error", None)  # we want this one report
            self._producer = Producer(config)
        return self._producer
