"""Topic names and settings, and the client settings the delivery guarantees depend on."""

from __future__ import annotations

import pytest

from consumers.kafka_config import consumer_config
from infra.config.settings import Settings
from producers.kafka_config import producer_config
from producers.relay import Relay, libpq_url
from producers.topics import Topics, min_insync_replicas

DOMAINS = ["patient", "order", "sample", "result", "report", "payment", "notification"]


def test_there_is_one_event_topic_per_domain_of_the_contract() -> None:
    assert Topics().events == tuple(f"lis.{d}.events" for d in DOMAINS)


def test_every_name_follows_the_namespace() -> None:
    topics = Topics(namespace="lis-test")
    assert topics.events == tuple(f"lis-test.{d}.events" for d in DOMAINS)
    assert topics.dlq("routing") == "lis-test.dlq.routing"
    assert topics.group("routing") == "lis-test.routing"
    assert topics.aggregate_of("lis-test.sample.events") == "Sample"
    assert topics.aggregate_of("lis.sample.events") is None


@pytest.mark.parametrize("namespace", ["", "lis.", ".lis", "lis test", "lis/x", "lís"])
def test_a_namespace_kafka_would_refuse_is_refused_when_the_settings_load(
    namespace: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LIS_TOPIC_NAMESPACE", namespace)
    with pytest.raises(ValueError, match="topic namespace"):
        Settings()


def test_the_settings_namespace_names_the_topics(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LIS_TOPIC_NAMESPACE", "lab-7")
    assert Settings().topics().for_aggregate("Result") == "lab-7.result.events"


def test_event_topics_are_kept_forever_and_never_compacted() -> None:
    config = Topics(replication_factor=3).config()
    assert config["cleanup.policy"] == "delete"
    assert config["retention.ms"] == "-1"
    assert config["retention.bytes"] == "-1"


@pytest.mark.parametrize(("rf", "expected"), [(1, 1), (2, 1), (3, 2), (4, 3), (5, 3)])
def test_min_insync_replicas_is_a_majority_once_there_are_three_replicas(
    rf: int, expected: int
) -> None:
    assert min_insync_replicas(rf) == expected


def test_dead_letter_topic_is_named_after_the_consumer() -> None:
    assert Topics().dlq("cache") == "lis.dlq.cache"


def test_producer_is_idempotent_and_waits_for_all_replicas() -> None:
    config = producer_config("127.0.0.1:9092")
    assert config["enable.idempotence"] is True
    assert config["acks"] == "all"


def test_producer_partitions_keys_like_kafkas_java_clients() -> None:
    assert producer_config("127.0.0.1:9092")["partitioner"] == "murmur2_random"


def test_consumer_stores_offsets_only_by_hand() -> None:
    config = consumer_config("127.0.0.1:9092", "lis.cache")
    assert config["enable.auto.offset.store"] is False
    assert config["group.id"] == "lis.cache"


def test_relay_talks_libpq_without_the_sqlalchemy_driver_name() -> None:
    url = libpq_url("postgresql+psycopg://lis:secret@db:5432/lis")
    assert url == "postgresql://lis:secret@db:5432/lis"


def test_constructing_a_relay_connects_to_nothing() -> None:
    relay = Relay("postgresql+psycopg://nobody@127.0.0.1:1/none", {}, lambda _t, _s, _f: 1)
    assert relay.published == 0
