"""kill -9 of a relay in the middle of a batch loses nothing and keeps each aggregate in order,
with one worker and with several worker processes (each owning a slice of the aggregates)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from functools import partial

import psycopg
import pytest

from infra.config.settings import Settings, get_settings
from producers import relay_workers
from producers.kafka_config import producer_config
from producers.relay import Relay, libpq_url
from tests.integration.producers.test_relay import (
    consume_all,
    high_watermarks,
    insert_pings,
    ping_params,
    ping_topic,  # noqa: F401 - fixture
    read_ping,
)

pytestmark = pytest.mark.integration

AGGREGATES, VERSIONS = 500, 100  # 50,000 events

# What `lis relay --workers N` runs, with the test's fixed schema id.
RELAY_PROCESS = """
import sys
from functools import partial
from infra.config.logging import configure_logging
configure_logging("WARNING")
from producers import relay_workers
from tests.integration.producers.test_relay_crash import ping_relay
url, schema_id, workers = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
relay_workers.run(partial(ping_relay, url, schema_id), workers)
"""


def ping_relay(url: str, schema_id: int, worker: int, workers: int) -> Relay:
    """A relay worker (built in its own process) framing every row with ``schema_id``."""
    return Relay(
        url,
        producer_config(get_settings().kafka_bootstrap),
        lambda _t, _s, _f: schema_id,
        batch_size=5000,
        listen=False,
        worker=worker,
        workers=workers,
    )


@pytest.mark.parametrize("workers", [1, 2])
def test_relay_killed_mid_batch_loses_nothing_and_keeps_versions_in_order(
    stack: Settings,
    fresh_database_url: str,
    ping_topic: tuple[str, int],  # noqa: F811
    workers: int,
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
        [sys.executable, "-c", RELAY_PROCESS, fresh_database_url, str(schema_id), str(workers)],
        start_new_session=True,  # its own process group: the kill takes every worker at once
    )
    try:
        deadline = time.monotonic() + 120
        while high_watermarks(stack, topic) < 7_000 and time.monotonic() < deadline:
            time.sleep(0.01)
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    with psycopg.connect(url) as conn:
        left = conn.execute("SELECT count(*) FROM outbox").fetchone()
    assert left is not None
    assert left[0] > 0, "the relay finished before the kill; the test proved nothing"

    report = relay_workers.drain(partial(ping_relay, fresh_database_url, schema_id), workers)
    assert report.published > 0

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
