"""The read-model worker on the real stack, on 20,000 events (a simulated day copied with fresh
ids) in a namespace of its own: killed with SIGKILL mid-stream and restarted by ``lis worker``,
it ends with exactly the model a rebuild from the topics gives; stopped (as by SIGTERM) it
finishes and commits the batch in hand, no more and no less."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

from consumers.batch import BatchConsumer
from consumers.lag import group_lag
from consumers.read_models import keys
from consumers.read_models.handler import ReadModelHandler
from consumers.read_models.ops import Wire
from consumers.read_models.projection import AGGREGATES, project
from consumers.read_models.rebuild import rebuild
from infra.bench.worker_data import Item, copies, copy_record, write_events
from infra.bootstrap import build_read_model_worker, worker_topics
from infra.config.settings import Settings
from infra.redis.store import RedisReadModelStore, redis_client
from infra.redis.views import clear, dump
from schemas.catalog import event_classes
from schemas.decoder import RegistryDecoder
from schemas.registry import SchemaIds, registry_client
from tests.integration.day_events import simulated_day
from tests.integration.lab import own_namespace, wait_for
from tests.integration.producers.test_relay import consume_all

pytestmark = pytest.mark.integration
EVENTS = 20_000


@pytest.fixture(scope="module")
def day() -> list[Item]:
    """A simulated day's read-model events (payments and notifications are not projected),
    the source of the copies on the topics."""
    _app, events = simulated_day(patients=10, seed=23)
    return [
        (e.schema_name, e.record)
        for e in events
        if e.record["metadata"]["aggregate_type"] in AGGREGATES
    ]


@pytest.fixture(scope="module")
def published(stack: Settings, day: list[Item]) -> Iterator[Settings]:
    """A namespace holding EVENTS read-model events (no database needed)."""
    with own_namespace(stack, stack.database_url, "rmw") as settings:
        topics = settings.topics()
        ids = SchemaIds(registry_client(settings.schema_registry_url), topic_for=topics.for_event)
        written = write_events(
            settings.kafka_bootstrap,
            copies(day, EVENTS),
            topic_for=lambda name: topics.for_event(event_classes()[name]),
            schema_id_for=ids.id_for,
        )
        assert written == EVENTS
        yield settings


@pytest.fixture
def client(published: Settings) -> Iterator[redis.Redis[bytes]]:
    client = redis_client(published.redis_url)
    yield client
    clear(client, published.read_model_prefix)
    client.close()


def lag(settings: Settings, group_name: str) -> int:
    topics = settings.topics()
    where = worker_topics(settings, "read-models")
    return sum(group_lag(settings.kafka_bootstrap, topics.group(group_name), where).values())


def rebuilt(settings: Settings, client: redis.Redis[bytes]) -> dict[str, object]:
    prefix = f"{settings.read_model_prefix}rebuild:"
    try:
        report = rebuild(
            settings.kafka_bootstrap,
            RegistryDecoder(settings.schema_registry_url),
            worker_topics(settings, "read-models"),
            RedisReadModelStore(client, prefix),
        )
        assert (report.events, report.skipped) == (EVENTS, 0)
        return dump(client, prefix)
    finally:
        clear(client, prefix)


def children(pid: int) -> list[int]:
    """The worker processes ``lis worker`` (pid) spawned (not multiprocessing's helpers)."""
    found = [int(p) for p in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    return [p for p in found if b"spawn_main" in _cmdline(p)]


def _cmdline(pid: int) -> bytes:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes()
    except FileNotFoundError:  # gone meanwhile
        return b""


def test_a_worker_killed_mid_stream_and_restarted_leaves_what_a_rebuild_gives(
    published: Settings, client: redis.Redis[bytes], tmp_path: Path
) -> None:
    settings = published
    lis = shutil.which("lis") or str(Path(sys.executable).with_name("lis"))
    env = {
        **os.environ,
        "LIS_TOPIC_NAMESPACE": settings.topic_namespace,
        "LIS_REDIS_URL": settings.redis_url,
        "LIS_READ_MODEL_PREFIX": settings.read_model_prefix,
    }
    log = (tmp_path / "worker.log").open("wb")
    supervisor = subprocess.Popen(
        [lis, "worker", "read-models"], env=env, stdout=log, stderr=subprocess.STDOUT
    )
    try:
        wait_for(lambda: len(children(supervisor.pid)) == 1, 60, "the worker process")
        [worker] = children(supervisor.pid)
        wait_for(
            lambda: any(client.scan_iter(match=f"{settings.read_model_prefix}*", count=100)),
            120,
            "the worker's first batch",
        )
        os.kill(worker, signal.SIGKILL)
        behind = lag(settings, "read-models")
        assert behind > 0, "the worker had already finished: not killed mid-stream"

        # ``lis worker`` restarts it; it re-reads from the last commit (duplicates included).
        wait_for(lambda: children(supervisor.pid) not in ([], [worker]), 60, "a restart")
        wait_for(lambda: lag(settings, "read-models") == 0, 180, "the restarted worker")
    finally:
        supervisor.send_signal(signal.SIGTERM)  # each worker finishes its batch and commits
        code = supervisor.wait(timeout=90)
        log.close()
    assert code == 0, (tmp_path / "worker.log").read_text()[-3000:]

    live = dump(client, settings.read_model_prefix)
    assert len(live) > 1000
    assert live == rebuilt(settings, client)


def test_stopping_finishes_and_commits_the_batch_in_hand_and_nothing_more(
    published: Settings, client: redis.Redis[bytes]
) -> None:
    name = f"rm-stop-{uuid.uuid4().hex[:6]}"
    settings = published.model_copy(
        update={"read_model_prefix": f"{published.read_model_prefix}{name}:"}
    )
    worker = build_read_model_worker(settings, name=name, max_batch=500)
    thread = threading.Thread(target=worker.run, daemon=True)
    thread.start()
    try:
        wait_for(lambda: worker.applied > 0, 120, "a first batch")
    finally:
        worker.stop()  # what the SIGTERM handler calls
        thread.join(timeout=60)
    assert not thread.is_alive()
    committed = EVENTS - lag(settings, name)
    assert 0 < committed == worker.applied < EVENTS
    clear(client, settings.read_model_prefix)


class RefusingStore(RedisReadModelStore):
    """Refuses any batch that writes one key, as Redis refuses a write it cannot apply."""

    def __init__(self, client: redis.Redis[bytes], prefix: str, refused: str) -> None:
        super().__init__(client, prefix)
        self.refused = refused

    def apply(self, batch: Wire) -> None:
        if any(op[1] == self.refused for op in batch):
            raise ValueError(f"cannot apply a write to {self.refused}")
        super().apply(batch)


def test_a_batch_the_store_refuses_is_applied_one_by_one_and_only_the_guilty_dead_lettered(
    published: Settings, client: redis.Redis[bytes], day: list[Item]
) -> None:
    first = copy_record(day[0][1], 0)  # the first patient of the first copy
    refused = keys.patient(first["patient_id"])
    guilty = sum(
        any(op[1] == refused for op in project(name, copy_record(record, 0)))
        for name, record in day
    )
    assert guilty >= 2  # the patient's own event and its order's link to it
    name = f"rm-refuse-{uuid.uuid4().hex[:6]}"
    prefix = f"{published.read_model_prefix}{name}:"
    handler = ReadModelHandler(published.topics(), RefusingStore(client, prefix, refused), name)
    worker = BatchConsumer(
        handler,
        bootstrap=published.kafka_bootstrap,
        topics=published.topics(),
        decoder=RegistryDecoder(published.schema_registry_url),
    )
    thread = threading.Thread(target=worker.run, daemon=True)
    thread.start()
    try:
        wait_for(lambda: worker.applied + worker.dead_lettered == EVENTS, 120, "every event")
    finally:
        worker.stop()
        thread.join(timeout=60)
    try:
        assert (worker.dead_lettered, worker.applied) == (guilty, EVENTS - guilty)
        letters = consume_all(published, published.topics().dlq(name), expected=guilty)
        assert len(letters) == guilty
        for letter in letters:
            headers = dict(letter.headers() or [])
            assert headers["dlq.error_type"] == b"ValueError"
            assert refused.encode() in headers["dlq.error"]
        others = [copy_record(r, 0) for n, r in day if n.endswith("PatientCreated")][1:]
        assert client.exists(prefix + keys.patient(others[0]["patient_id"]))
    finally:
        clear(client, prefix)
