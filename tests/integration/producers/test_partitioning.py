"""Every producer of the project partitions keys as Kafka's Java clients do (murmur2), so a Java
service can co-partition and join with our topics: checked on a simulated day's real events."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import date

import pytest
from confluent_kafka.admin import AdminClient

from consumers.flow_reader import read_events, watermarks
from consumers.topic_audit import audit, audit_topics
from domains.catalog.model import load_catalog
from infra.bootstrap import bootstrap
from infra.config.settings import Settings
from infra.simulation.day import run_day
from producers.partitioning import java_partition
from producers.relay import Relay
from producers.topics import ensure_topics
from tests.integration.lab import lab_running

pytestmark = pytest.mark.integration


@pytest.fixture
def own_namespace(
    stack: Settings, fresh_database_url: str, unique_name: Callable[[str], str]
) -> Iterator[Settings]:
    """A namespace of its own: exactly this test's events on its topics."""
    namespace = unique_name("t-part").replace(".", "-")
    settings = stack.model_copy(
        update={"database_url": fresh_database_url, "topic_namespace": namespace}
    )
    ensure_topics(settings.kafka_bootstrap, settings.topics())
    yield settings
    AdminClient({"bootstrap.servers": stack.kafka_bootstrap}).delete_topics(
        list(settings.topics().events)
    )


def publish_day(settings: Settings, patients: int, seed: int) -> int:
    """A simulated day through the bus, the relay and the processors; the number of events
    published."""
    catalog = load_catalog()
    bus = bootstrap(settings, catalog=catalog)
    with lab_running(settings) as lab:
        run_day(
            bus, catalog, organization_id="org-part", patients=patients, seed=seed,
            today=date.today(),
        )  # fmt: skip
        lab.settle()
        relay = lab.runners["relay"]
        assert isinstance(relay, Relay)
        return relay.published


def test_a_simulated_days_events_sit_on_the_java_partition_of_their_key(
    own_namespace: Settings,
) -> None:
    settings = own_namespace
    published = publish_day(settings, patients=4, seed=11)

    start = watermarks(settings.kafka_bootstrap, settings.topics().events, end=False)
    events = read_events(settings.kafka_bootstrap, settings.schema_registry_url, start)

    assert len(events) == published > 50
    assert len({e.key for e in events}) > 12  # enough keys that CRC32 would misplace some
    partitions = settings.topic_partitions
    misplaced = [e for e in events if e.partition != java_partition(e.key, partitions)]
    assert misplaced == []
    report = audit(events, settings.topics(), dict.fromkeys(settings.topics().events, partitions))
    assert report.problems == []
    assert report.events == published


def test_the_audit_reads_a_clean_namespace_from_kafka_itself(own_namespace: Settings) -> None:
    settings = own_namespace
    published = publish_day(settings, patients=1, seed=3)

    report = audit_topics(settings.kafka_bootstrap, settings.schema_registry_url, settings.topics())

    assert report.clean, report.lines()
    assert report.events == published
    assert report.by_type["PATIENT_CREATED"] == 1
