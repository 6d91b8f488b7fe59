"""Relay workers split the aggregates by slot; a slot has one publisher at a time, whatever the
worker counts of relays that overlap (a rolling deploy), and a pre-slot relay excludes them."""

from __future__ import annotations

import time
from functools import partial

import psycopg
import pytest

from infra.config.settings import Settings
from producers import relay_workers
from producers.outbox_reader import SLOTS, wanted_slots
from producers.relay import libpq_url
from tests.integration.producers.test_relay import (
    consume_all,
    drain_until,
    insert_pings,
    make_relay,
    ping_params,
    ping_topic,  # noqa: F401 - fixture
)
from tests.integration.producers.test_relay_crash import ping_relay

pytestmark = pytest.mark.integration

AGGREGATES = 60


def slot_of(conn: psycopg.Connection[tuple[int]], key: str) -> int:
    row = conn.execute("SELECT hashtext(%s) & 63", (key,)).fetchone()
    assert row is not None
    return row[0]


def test_a_relay_with_another_worker_count_publishes_only_the_slots_nobody_holds(
    stack: Settings,
    fresh_database_url: str,
    ping_topic: tuple[str, int],  # noqa: F811
) -> None:
    topic, schema_id = ping_topic
    url = libpq_url(fresh_database_url)
    keys = [f"agg-{a:03d}" for a in range(AGGREGATES)]
    with psycopg.connect(url) as conn:
        insert_pings(conn, [ping_params(topic, key, 1) for key in keys])
        even = {k for k in keys if slot_of(conn, k) % 2 == 0}
    assert 0 < len(even) < AGGREGATES

    old = make_relay(stack, fresh_database_url, schema_id, listen=False, worker=0, workers=2)
    old.warm_up()  # still running from the previous deploy: holds the even slots
    new = make_relay(stack, fresh_database_url, schema_id, listen=False)  # one worker, all
    try:
        assert drain_until(new, AGGREGATES - len(even)) == AGGREGATES - len(even)
        first = {m.key().decode() for m in consume_all(stack, topic, AGGREGATES - len(even))}
        assert first == set(keys) - even
        old.close()  # the old relay goes away: its slots are free
        assert drain_until(new, len(even)) == len(even)
    finally:
        old.close()
        new.close()
    assert len(consume_all(stack, topic, AGGREGATES)) == AGGREGATES


def test_a_relay_from_before_slots_and_a_slotted_one_exclude_each_other(
    stack: Settings,
    fresh_database_url: str,
    ping_topic: tuple[str, int],  # noqa: F811
) -> None:
    topic, schema_id = ping_topic
    url = libpq_url(fresh_database_url)
    with psycopg.connect(url, autocommit=True) as old_relay:
        old_relay.execute("SELECT pg_advisory_lock(7810713668367687020)")  # its only lock
        insert_pings(old_relay, [ping_params(topic, "agg-1", 1)])
        relay = make_relay(stack, fresh_database_url, schema_id, listen=False)
        assert relay.run_once() == 0
        slot_locks = (
            "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND objsubid = 2"
            " AND database = (SELECT oid FROM pg_database WHERE datname = current_database())"
        )
        assert old_relay.execute(slot_locks).fetchone() == (0,)  # stood by, took no slot
    assert drain_until(relay, 1) == 1  # the old relay's session ended
    with psycopg.connect(url, autocommit=True) as old_relay:
        row = old_relay.execute("SELECT pg_try_advisory_lock(7810713668367687020)").fetchone()
        assert row == (False,)
    relay.close()


def test_workers_together_publish_every_slot_once(
    stack: Settings,
    fresh_database_url: str,
    ping_topic: tuple[str, int],  # noqa: F811
) -> None:
    topic, schema_id = ping_topic
    with psycopg.connect(libpq_url(fresh_database_url)) as conn:
        insert_pings(conn, [ping_params(topic, f"agg-{a}", v) for v in (1, 2) for a in range(50)])
    factory = partial(ping_relay, fresh_database_url, schema_id)
    published, deadline = 0, time.monotonic() + 60
    while published < 100 and time.monotonic() < deadline:  # see drain_until
        published += relay_workers.drain(factory, 3).published
    assert published == 100
    assert len(consume_all(stack, topic, 100)) == 100
    assert sorted(s for w in range(3) for s in wanted_slots(w, 3)) == list(range(SLOTS))


@pytest.mark.parametrize(("batch_size", "ack_every"), [(2, 4), (3, 4), (5, 1), (8, 100)])
def test_every_acknowledged_row_is_deleted_whatever_the_batch_and_ack_window(
    stack: Settings,
    fresh_database_url: str,
    ping_topic: tuple[str, int],  # noqa: F811
    batch_size: int,
    ack_every: int,
) -> None:
    topic, schema_id = ping_topic
    url = libpq_url(fresh_database_url)
    with psycopg.connect(url) as conn:
        insert_pings(conn, [ping_params(topic, f"agg-{a}", 1) for a in range(8)])
    relay = make_relay(
        stack, fresh_database_url, schema_id, listen=False, batch_size=batch_size,
        ack_every=ack_every,
    )  # fmt: skip
    assert drain_until(relay, 8) == 8
    assert relay.drain() == 0  # nothing left over to publish twice
    relay.close()
    with psycopg.connect(url) as conn:
        assert conn.execute("SELECT count(*) FROM outbox").fetchone() == (0,)
    assert len(consume_all(stack, topic, 8)) == 8
