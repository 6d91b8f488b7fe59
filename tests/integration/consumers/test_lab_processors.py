"""The lab's processors end to end on the real stack: a simulated day (rejections, criticals,
amended reports) through the bus, the relay and every worker (routing, completion, reporting,
read models), in a namespace of its own whose every topic first received a poison message.

Every order is completed, reported and delivered, every received sample routed; every event a
processor emitted is caused by the event it reacted to, in that event's flow; each poison
message sits in the dead letters of each processor that reads its topic, with its cause, and
everything after it was processed; the read models built live equal a rebuild from the topics.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from typing import Any

import pytest
import redis
from confluent_kafka import Producer

from consumers.flow_reader import FlowEvent, read_events, watermarks
from domains.catalog.model import load_catalog
from infra.bootstrap import bootstrap, worker_names, worker_topics
from infra.config.settings import Settings
from infra.redis.rebuild import differences, rebuild_read_models
from infra.redis.store import redis_client
from infra.redis.views import clear, dump, order_view
from infra.simulation.day import run_day
from tests.integration.lab import lab_running, own_namespace
from tests.integration.producers.test_relay import consume_all

pytestmark = pytest.mark.integration
ORG = "org-e2e"
POISON = b"\x01 neither framed nor Avro"


@dataclass
class Day:
    settings: Settings
    events: list[FlowEvent]
    live: dict[str, Any]
    rebuilt: dict[str, Any]
    dead: dict[str, list[Any]]  # processor -> its dead letters
    client: redis.Redis[bytes]


# Every worker but the critical value loop, which has its own suite (tests/integration/criticals:
# a provider directory, an SMTP server and SLA timers of its own).
WORKERS = [name for name in worker_names() if name != "criticals"]


@pytest.fixture(scope="module")
def day(stack: Settings, module_database_url: str) -> Iterator[Day]:
    with own_namespace(stack, module_database_url, "e2e") as settings:
        topics = settings.topics()
        producer = Producer({"bootstrap.servers": settings.kafka_bootstrap})
        for topic in topics.events:
            producer.produce(topic, POISON, f"poison-{topic}".encode())
        assert producer.flush(30) == 0
        catalog = load_catalog()
        with lab_running(settings, WORKERS) as lab:
            run_day(
                bootstrap(settings, catalog=catalog),
                catalog,
                organization_id=ORG,
                patients=8,
                seed=41,
                today=date.today(),
                critical_rate=0.4,
                reject_rate=0.3,
            )
            lab.settle(timeout_s=180)
        start = watermarks(settings.kafka_bootstrap, topics.events, end=False)
        events = read_events(
            settings.kafka_bootstrap,
            settings.schema_registry_url,
            start,
            keep=lambda headers: "event_id" in headers,  # the poison has none
        )
        dead = {
            name: consume_all(
                settings, topics.dlq(name), expected=len(worker_topics(settings, name))
            )
            for name in WORKERS
        }
        client = redis_client(settings.redis_url)
        target = f"{settings.read_model_prefix}rebuild:"
        report = rebuild_read_models(settings, settings.redis_url, target)
        assert report.skipped == len(worker_topics(settings, "read-models"))  # the poison
        try:
            yield Day(
                settings=settings,
                events=events,
                live=dump(client, settings.read_model_prefix),
                rebuilt=dump(client, target),
                dead=dead,
                client=client,
            )
        finally:
            clear(client, target)
            clear(client, settings.read_model_prefix)
            client.close()


def of_type(day: Day, event_type: str) -> list[dict[str, Any]]:
    return [e.record for e in day.events if e.metadata["event_type"] == event_type]


def test_every_order_is_completed_reported_and_delivered_and_every_sample_routed(day: Day) -> None:
    orders = {r["order_id"] for r in of_type(day, "ORDER_CREATED")}
    assert len(orders) == 8
    assert {r["order_id"] for r in of_type(day, "ORDER_COMPLETED")} == orders
    assert {r["order_id"] for r in of_type(day, "REPORT_GENERATED")} == orders
    signed = {(r["report_id"], r["report_version"]) for r in of_type(day, "REPORT_SIGNED")}
    delivered = {(r["report_id"], r["report_version"]) for r in of_type(day, "REPORT_DELIVERED")}
    latest: dict[str, int] = {}
    for report_id, version in signed:
        latest[report_id] = max(version, latest.get(report_id, 0))
    # every report's latest signed version goes out; an older one only if it was delivered
    # before its correction (a superseded version is refused, never delivered after it)
    assert set(latest.items()) <= delivered <= signed
    assert len(latest) == len(orders)
    received = {r["sample_id"] for r in of_type(day, "SAMPLE_RECEIVED")}
    assert {r["sample_id"] for r in of_type(day, "SAMPLE_ROUTED")} == received
    assert of_type(day, "SAMPLE_REJECTED"), "the day should have rejected a sample"


# (event reacted to, event emitted) -> the field both name, the one they are about
REACTIONS = {
    ("SAMPLE_RECEIVED", "SAMPLE_ROUTED"): "sample_id",
    ("RESULT_VERIFIED", "ORDER_COMPLETED"): "order_id",
    ("ORDER_COMPLETED", "REPORT_GENERATED"): "order_id",
    ("RESULT_VERIFIED", "REPORT_GENERATED"): "order_id",  # after a correction (completion)
    # the order completed before its last critical call was documented: reported on the call
    ("CRITICAL_VALUE_ACKNOWLEDGED", "REPORT_GENERATED"): "order_id",
    ("REPORT_SIGNED", "REPORT_DELIVERED"): "report_id",
}


def test_every_event_a_processor_emits_is_caused_by_the_event_it_reacted_to(day: Day) -> None:
    by_id = {e.metadata["event_id"]: e for e in day.events}
    emitted = [e for e in day.events if e.metadata["user_id"] is None]
    seen: dict[tuple[str, str], int] = defaultdict(int)
    for event in emitted:
        meta = event.metadata
        cause = by_id.get(meta["causation_id"])
        assert cause is not None, f"{meta['event_type']} caused by no event: {meta}"
        pair = (cause.metadata["event_type"], meta["event_type"])
        assert pair in REACTIONS, pair
        assert meta["correlation_id"] == cause.metadata["correlation_id"]
        assert meta["organization_id"] == cause.metadata["organization_id"] == ORG
        about = REACTIONS[pair]
        assert event.record[about] == cause.record[about], pair
        seen[pair] += 1
    assert set(seen) >= {
        ("SAMPLE_RECEIVED", "SAMPLE_ROUTED"),
        ("RESULT_VERIFIED", "ORDER_COMPLETED"),
        ("ORDER_COMPLETED", "REPORT_GENERATED"),
        ("REPORT_SIGNED", "REPORT_DELIVERED"),
    }


def test_poison_on_each_topic_is_dead_lettered_by_each_processor_that_reads_it(day: Day) -> None:
    topics = day.settings.topics()
    for name in WORKERS:
        expected = {
            f"poison-{topic}".encode(): topic for topic in worker_topics(day.settings, name)
        }
        letters = {m.key(): m for m in day.dead[name]}
        assert set(letters) == set(expected), name  # its topics' poison, and only that
        for key, topic in expected.items():
            headers = dict(letters[key].headers() or [])
            assert headers["dlq.source.topic"].decode() == topic
            assert headers["dlq.consumer"].decode() == name
            assert headers["dlq.error_type"] == b"SerializationError"
            assert b"magic byte" in headers["dlq.error"], headers["dlq.error"]
            assert letters[key].value() == POISON
    assert topics.dlq("read-models") != topics.dlq("routing")


def test_the_read_models_built_live_equal_a_rebuild_from_the_topics(day: Day) -> None:
    assert len(day.live) > 100
    assert differences(day.live, day.rebuilt) == []
    assert day.live == day.rebuilt
    worklists = [key for key in day.live if key.startswith("worklist:")]
    assert worklists == []  # everything routed was resulted, recollected, acknowledged
    for order_id in {r["order_id"] for r in of_type(day, "ORDER_CREATED")}:
        view = order_view(day.client, order_id, day.settings.read_model_prefix)
        assert view is not None
        assert (view["status"], view["report"]["status"]) == ("completed", "delivered")
        statuses = {r["status"] for r in view["results"].values()}
        assert statuses <= {"verified", "amended", "invalidated"}  # released or withdrawn (12b)
        assert statuses != {"invalidated"}
