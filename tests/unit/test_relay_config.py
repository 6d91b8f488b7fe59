"""Topic and client settings the delivery guarantees depend on."""

from __future__ import annotations

import pytest

from infra.settings import Settings
from producers.kafka_config import consumer_config, producer_config
from producers.relay import Relay, libpq_url
from producers.topics import EVENT_TOPICS, dlq_topic, min_insync_replicas, topic_config


def test_there_is_one_event_topic_per_domain_of_the_contract() -> None:
    domains = ["patient", "order", "sample", "result", "report", "payment", "notification"]
    assert sorted(EVENT_TOPICS) == sorted(f"lis.{d}.events" for d in domains)


def test_event_topics_are_kept_forever_and_never_compacted() -> None:
    config = topic_config(replication_factor=3)
    assert config["cleanup.policy"] == "delete"
    assert config["retention.ms"] == "-1"
    assert config["retention.bytes"] == "-1"


@pytest.mark.parametrize(("rf", "expected"), [(1, 1), (2, 1), (3, 2), (4, 3), (5, 3)])
def test_min_insync_replicas_is_a_majority_once_there_are_three_replicas(
    rf: int, expected: int
) -> None:
    assert min_insync_replicas(rf) == expected


def test_dead_letter_topic_is_named_after_the_consumer() -> None:
    assert dlq_topic("cache") == "lis.dlq.cache"


def test_producer_is_idempotent_and_waits_for_all_replicas() -> None:
    config = producer_config(Settings())
    assert config["enable.idempotence"] is True
    assert config["acks"] == "all"


def test_consumer_stores_offsets_only_by_hand() -> None:
    config = consumer_config(Settings(), "cache")
    assert config["enable.auto.offset.store"] is False
    assert config["group.id"] == "cache"


def test_relay_talks_libpq_without_the_sqlalchemy_driver_name() -> None:
    url = libpq_url("postgresql+psycopg://lis:secret@db:5432/lis")
    assert url == "postgresql://lis:secret@db:5432/lis"


def test_constructing_a_relay_connects_to_nothing() -> None:
    relay = Relay("postgresql+psycopg://nobody@127.0.0.1:1/none", {}, lambda _t, _s, _f: 1)
    assert relay.published == 0
