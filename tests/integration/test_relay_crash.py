"""kill -9 of a relay in the middle of a batch loses nothing and keeps each aggregate in order."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import psycopg
import pytest

from infra.settings import Settings
from producers.relay import libpq_url
from tests.integration.test_relay import (
    consume_all,
    high_watermarks,
    insert_pings,
    make_relay,
    ping_params,
    ping_topic,  # noqa: F401 - fixture
    read_ping,
)

pytestmark = pytest.mark.integration

AGGREGATES, VERSIONS = 500, 100  # 50,000 events

RELAY_PROCESS = """
import sys
from infra.logging import configure_logging
from infra.settings import get_settings
configure_logging("WARNING")
from producers.kafka_config import producer_config
from producers.relay import Relay
url, schema_id = sys.argv[1], int(sys.argv[2])
Relay(url, producer_config(get_settings()), lambda _t, _s: schema_id, batch_size=5000).run()
"""


def test_relay_killed_mid_batch_loses_nothing_and_keeps_versions_in_order(
    stack: Settings,
    fresh_database_url: str,
    ping_topic: tuple[str, int],  # noqa: F811
) -> None:
    topic, schema_id = ping_topic
    url = libpq_url(fresh_database_url)
    with psycopg.connect(url) as conn:  # version v of every aggregate before v + 1 of any
        insert_pings(
            conn,
            [
                ping_params(topic, f"agg-{agg:03d}", version)
                for version in range(1, VERSIONS + 1)
                for agg in range(AGGREGATES)
            ],
        )

    proc = subprocess.Popen(
        [sys.executable, "-c", RELAY_PROCESS, fresh_database_url, str(schema_id)],
    )
    try:
        deadline = time.monotonic() + 120
        while high_watermarks(stack, topic) < 7_000 and time.monotonic() < deadline:
            time.sleep(0.01)
    finally:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
    with psycopg.connect(url) as conn:
        left = conn.execute("SELECT count(*) FROM outbox").fetchone()
    assert left is not None
    assert left[0] > 0, "the relay finished before the kill; the test proved nothing"

    restarted = make_relay(stack, fresh_database_url, schema_id, listen=False)
    restarted.drain()
    restarted.close()

    messages = consume_all(stack, topic, expected=AGGREGATES * VERSIONS, timeout=120)
    first_copy: dict[tuple[str, int], bytes] = {}
    newest: dict[str, int] = {}
    for msg in messages:  # per partition in offset order, so per key in publish order
        record = read_ping(msg.value())
        key, version = msg.key().decode(), record["aggregate_version"]
        assert record["aggregate_id"] == key
        if version == newest.get(key, 0) + 1:
            newest[key] = version
            first_copy[(key, version)] = msg.value()
        else:  # a re-send after the crash: an identical copy of something already seen
            assert version <= newest.get(key, 0), f"{key}: v{version} skipped ahead"
            assert msg.value() == first_copy[(key, version)]
    assert newest == {f"agg-{a:03d}": VERSIONS for a in range(AGGREGATES)}
