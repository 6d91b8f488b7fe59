"""A processor on the real stack: a sample received through the bus is routed by the routing
worker (Kafka -> consumer loop -> command -> Postgres -> outbox -> Kafka), with its causation,
and a poison message on its topic goes to its dead letters while later events still apply."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from datetime import date
from typing import Any

import pytest
from confluent_kafka import Producer

from consumers.base import ConsumerBase
from consumers.flow_reader import read_flows, watermarks
from domains.order.commands import ConfirmOrder, PlaceOrder
from domains.patient.commands import RegisterPatient
from domains.sample.commands import CollectSample, ReceiveSample
from domains.sample.model import Sample
from domains.shared.bus import MessageBus
from infra.bootstrap import build_relay, build_worker
from infra.config.settings import Settings
from producers.relay import Relay
from tests.integration.lab import own_namespace
from tests.integration.producers.test_relay import consume_all

pytestmark = pytest.mark.integration
ORG = "org-routing"


@pytest.fixture
def settings(stack: Settings, settings: Settings) -> Iterator[Settings]:
    """This test's fresh database, on a topic namespace of its own: other tests publish events
    (a generated SAMPLE_RECEIVED without tests, say) the routing worker rightly dead-letters."""
    with own_namespace(stack, settings.database_url, "routing") as own:
        yield own


@pytest.fixture
def running(settings: Settings) -> Iterator[Callable[[str], ConsumerBase]]:
    """Start processors on threads (stopped and joined afterwards); relay on a thread too."""
    started: list[tuple[ConsumerBase | Relay, threading.Thread]] = []

    def start(name: str) -> ConsumerBase:
        worker = build_worker(settings, name)
        thread = threading.Thread(target=worker.run, daemon=True)
        thread.start()
        started.append((worker, thread))
        return worker

    relay = build_relay(settings, 500)
    relay_thread = threading.Thread(target=relay.run, daemon=True)
    relay_thread.start()
    started.append((relay, relay_thread))
    yield start
    for runner, thread in started:
        runner.stop()
        thread.join(timeout=30)


def received_sample(bus: MessageBus) -> tuple[str, str]:
    patient = bus.handle(
        RegisterPatient(
            organization_id=ORG, user_id="desk", family_name="Iyer", given_name="Kavya",
            date_of_birth=date(1990, 1, 2), sex="female",
        )
    )["patient_id"]  # fmt: skip
    order = bus.handle(
        PlaceOrder(
            organization_id=ORG, user_id="desk", patient_id=patient, loinc_codes=["718-7"],
            placer_order_number="HIS-R-1", priority="stat", ordering_clinician_name="Dr. Rao",
        )
    )["order_id"]  # fmt: skip
    bus.handle(ConfirmOrder(organization_id=ORG, user_id="desk", order_id=order))
    collect = CollectSample(
        organization_id=ORG, user_id="phleb", order_id=order, specimen_type="whole_blood"
    )
    sample = bus.handle(collect)["sample_id"]
    received = ReceiveSample(organization_id=ORG, user_id="tech", sample_id=sample)
    bus.handle(received)
    return sample, received.correlation_id


def wait_for(check: Callable[[], bool], seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while not check():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.2)


def test_a_received_sample_is_routed_by_the_routing_worker(
    settings: Settings, bus: MessageBus, running: Callable[[str], ConsumerBase]
) -> None:
    start = watermarks(settings.kafka_bootstrap, settings.topics().events)
    worker = running("routing")
    sample_id, correlation_id = received_sample(bus)

    def routed() -> bool:
        with bus.uow_factory() as uow:
            return uow.repository(Sample).get(ORG, sample_id).status == "routed"

    wait_for(routed)
    by_type: dict[str, dict[str, Any]] = {}

    def published() -> bool:  # the relay runs on: the routing event reaches Kafka shortly
        flow = read_flows(
            settings.kafka_bootstrap, settings.schema_registry_url, start, {correlation_id}
        )
        by_type.update({e.metadata["event_type"]: e.metadata for e in flow})
        return "SAMPLE_ROUTED" in by_type

    wait_for(published)
    assert by_type["SAMPLE_ROUTED"]["causation_id"] == by_type["SAMPLE_RECEIVED"]["event_id"]
    assert by_type["SAMPLE_ROUTED"]["user_id"] is None
    assert worker.dead_lettered == 0


def test_poison_on_the_sample_topic_is_dead_lettered_and_later_events_still_apply(
    settings: Settings, bus: MessageBus, running: Callable[[str], ConsumerBase]
) -> None:
    topic = settings.topics().for_aggregate("Sample")
    producer = Producer({"bootstrap.servers": settings.kafka_bootstrap})
    producer.produce(topic, b"\x00\x00\x00\x00\x07 not an event", b"poison-key")
    assert producer.flush(30) == 0
    worker = running("routing")
    sample_id, _ = received_sample(bus)

    def routed() -> bool:
        with bus.uow_factory() as uow:
            return uow.repository(Sample).get(ORG, sample_id).status == "routed"

    wait_for(routed)
    dead = consume_all(settings, settings.topics().dlq("routing"), expected=1)
    assert any(m.key() == b"poison-key" for m in dead)
    # counted just after the dead letter is flushed, so possibly a moment after it is readable
    wait_for(lambda: worker.dead_lettered >= 1, 10)
