"""Every event type, through the real outbox and relay onto the real ``lis.*.events`` topics, read
back by a downstream service that has nothing of this project: a stock DeserializingConsumer
with the stock AvroDeserializer (DESIGN.md: "must read every topic without any project code").
"""

from __future__ import annotations

import dataclasses
import time
import uuid
from typing import Any, cast

import pytest
from confluent_kafka import DeserializingConsumer
from confluent_kafka.schema_registry import SchemaRegistryClient
from confluent_kafka.schema_registry.avro import AvroDeserializer
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from sqlalchemy import insert
from sqlalchemy.orm import sessionmaker

from consumers.flow_reader import watermarks
from domains.events import ALL_EVENTS
from domains.shared.messages import EventEnvelope
from infra.bootstrap import build_relay
from infra.config.settings import Settings
from infra.db.engine import make_engine
from infra.db.messaging import OutboxRow
from infra.db.uow import SqlUnitOfWork
from schemas.avro_codec import encode, record_of
from tests.integration.producers.test_relay import drain_outbox
from tests.unit.schemas.test_avro_codec import envelopes_of

pytestmark = pytest.mark.integration


def one_envelope_per_event_type(correlation_id: str) -> list[EventEnvelope]:
    """One envelope of each type from the codec tests' value factory, with the ids a real one
    has: unique uuids (the outbox and the inbox key on them) and one flow to filter on."""
    drawn: list[EventEnvelope] = []

    # Several examples, keep the last: the first one Hypothesis tries is the all-empty one.
    @settings(
        max_examples=5,
        database=None,
        deadline=None,  # drawing all event types is set-up, not the thing under test
        derandomize=True,
        phases=[Phase.generate],
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )
    @given(data=st.data())
    def draw(data: st.DataObject) -> None:
        drawn[:] = [data.draw(envelopes_of(cls), label=cls.__name__) for cls in ALL_EVENTS]

    draw()
    return [
        dataclasses.replace(
            envelope,
            metadata=dataclasses.replace(
                envelope.metadata,
                event_id=str(uuid.uuid4()),
                aggregate_id=str(uuid.uuid4()),
                organization_id="org-every-type",
                correlation_id=correlation_id,
                causation_id=str(uuid.uuid4()),
            ),
        )
        for envelope in drawn
    ]


def read_with_stock_client(
    settings: Settings, start: list[Any], correlation_id: str, expected: int
) -> dict[str, tuple[str, bytes, dict[str, Any]]]:
    """event_id -> (topic, key bytes, decoded record) of this flow's messages, stock client."""
    consumer = DeserializingConsumer(
        {
            "bootstrap.servers": settings.kafka_bootstrap,
            "group.id": f"t-every-type-{uuid.uuid4().hex[:8]}",
            "auto.offset.reset": "earliest",
            "value.deserializer": AvroDeserializer(
                SchemaRegistryClient({"url": settings.schema_registry_url, "timeout": 10})
            ),
        }
    )
    consumer.assign(start)
    found: dict[str, tuple[str, bytes, dict[str, Any]]] = {}
    deadline = time.monotonic() + 90
    try:
        while len(found) < expected and time.monotonic() < deadline:
            msg = consumer.poll(1.0)
            if msg is None or msg.error() is not None:
                continue
            headers = dict(msg.headers() or [])
            if headers.get("correlation_id") != correlation_id.encode():
                continue  # other flows written meanwhile
            # The deserializer already ran: the value is the decoded record, not bytes.
            record = cast(dict[str, Any], msg.value())
            found[record["metadata"]["event_id"]] = (str(msg.topic()), msg.key() or b"", record)
    finally:
        consumer.close()
    return found


def test_every_event_type_reaches_its_topic_and_a_stock_consumer_decodes_it_whole(
    stack: Settings, fresh_database_url: str
) -> None:
    settings = stack.model_copy(update={"database_url": fresh_database_url})
    correlation_id = str(uuid.uuid4())
    envelopes = one_envelope_per_event_type(correlation_id)
    assert {e.metadata.event_type for e in envelopes} == {c.event_type for c in ALL_EVENTS}

    engine = make_engine(fresh_database_url)
    sessions = sessionmaker(engine)
    # The unit of work's own row builder: the rows are exactly what a command would commit
    # (topic by aggregate, key = aggregate id, contract headers, writer schema fingerprint).
    uow = SqlUnitOfWork(sessions, encode=encode, topics=settings.topics())
    rows = [uow._outbox_row(e) for e in envelopes]
    with sessions.begin() as session:
        session.execute(insert(OutboxRow), rows)
    engine.dispose()

    start = watermarks(settings.kafka_bootstrap, settings.topics().events)
    relay = build_relay(settings, 500)
    try:
        assert drain_outbox(relay, fresh_database_url) == len(envelopes)
    finally:
        relay.close()

    found = read_with_stock_client(settings, start, correlation_id, len(envelopes))

    missing = {e.metadata.event_type for e in envelopes} - {
        r["metadata"]["event_type"] for _t, _k, r in found.values()
    }
    assert not missing, f"never arrived: {sorted(missing)}"
    mismatched = []
    for envelope in envelopes:
        meta = envelope.metadata
        topic, key, record = found[meta.event_id]
        assert topic == settings.topics().for_aggregate(meta.aggregate_type)
        assert key == meta.aggregate_id.encode()
        # The whole record, metadata and payload: timestamp-micros decode to aware UTC datetimes
        # and dates to dates, equal to the values written (the factory draws whole microseconds,
        # in UTC). A field the event class has but its schema lacks shows up here as lost.
        if record != record_of(envelope):
            written = record_of(envelope)
            diff = {
                k: (written.get(k, "<absent>"), record.get(k, "<absent>"))
                for k in written.keys() | record.keys()
                if written.get(k, "<absent>") != record.get(k, "<absent>")
            }
            mismatched.append(f"{meta.event_type}: written vs read {diff}")
    assert not mismatched, "\n".join(mismatched)
