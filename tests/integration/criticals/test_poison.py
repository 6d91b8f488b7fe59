"""Poison on the result topic (the one topic the critical loop consumes): it goes to the loop's
dead-letter topic with its cause, and the critical value after it is still called."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from confluent_kafka import Producer

from consumers.base import ConsumerBase
from infra.config.settings import Settings
from tests.integration.criticals.conftest import (
    CLINICIAN,
    SmtpServer,
    critical_result,
    critical_settings,
    recipient,
    start_loop,
    wait_for,
)
from tests.integration.producers.test_relay import consume_all

pytestmark = pytest.mark.integration


def test_poison_on_the_result_topic_is_dead_lettered_with_its_cause_and_later_criticals_called(
    on_stack: Settings, tmp_path: Path, smtp: SmtpServer, running: Callable[[Any], Any]
) -> None:
    settings = critical_settings(on_stack, tmp_path, smtp.port, sla_seconds=600)
    bus, loop, _relay = start_loop(settings, running)
    key = f"poison-{uuid.uuid4().hex[:8]}".encode()
    producer = Producer({"bootstrap.servers": settings.kafka_bootstrap})
    topic = settings.topics().for_aggregate("Result")
    # not Avro in a Confluent frame; and a frame naming a schema id the registry never gave
    producer.produce(topic, b"not an event at all", key)
    producer.produce(topic, b"\x00\x7f\xff\xff\xf0 unknown schema", key)
    assert producer.flush(30) == 0

    critical_result(bus)
    [mail] = wait_for(smtp.messages, what="the email for the critical after the poison")
    assert recipient(mail) == CLINICIAN

    dead = [
        m for m in consume_all(settings, settings.topics().dlq("criticals"), expected=2)
        if m.key() == key
    ]  # fmt: skip
    assert len(dead) == 2
    for message in dead:
        headers = dict(message.headers())
        assert headers["dlq.source.topic"] == topic.encode()
        assert headers["dlq.consumer"] == b"criticals"
        assert headers["dlq.error"]  # the cause, in words
    reasons = sorted(dict(m.headers())["dlq.error"].decode() for m in dead)
    assert {dict(m.headers())["dlq.error_type"] for m in dead} == {b"SerializationError"}
    assert "not Confluent-framed Avro" in reasons[1]
    assert "is not in the registry" in reasons[0]
    consumer = loop.runners[0]
    assert isinstance(consumer, ConsumerBase)
    # counted just after each dead letter is sent, so possibly a moment after it is readable
    wait_for(lambda: consumer.dead_lettered >= 2, seconds=10, what="two dead letters counted")
    assert consumer.dead_lettered == 2
