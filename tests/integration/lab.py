"""The lab's moving parts for integration tests: a topic namespace of its own, and the relay and
processors running on threads (as ``lis relay`` and ``lis worker`` do in processes) while a
test drives commands or a simulated day."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Protocol

from confluent_kafka import KafkaException
from confluent_kafka.admin import AdminClient

from consumers.flow_reader import watermarks
from infra.bootstrap import PROCESSORS, build_relay, build_runner, worker_names
from infra.config.settings import Settings
from infra.settle import wait_settled
from producers.topics import ensure_topics

LAB_PROCESSORS = tuple(PROCESSORS)  # routing, completion, reporting (not the read models)


class Runner(Protocol):
    def run(self) -> None: ...
    def stop(self) -> None: ...


@contextmanager
def own_namespace(stack: Settings, database_url: str, label: str) -> Iterator[Settings]:
    """Settings on a fresh database and topic namespace (its topics deleted afterwards), with
    read models under a prefix of their own: exactly this test's events everywhere."""
    tag = uuid.uuid4().hex[:10]
    namespace = f"{stack.topic_namespace}-{label}-{tag}"
    settings = stack.model_copy(
        update={
            "database_url": database_url,
            "topic_namespace": namespace,
            "read_model_prefix": f"t:{label}:{tag}:",
        }
    )
    ensure_topics(settings.kafka_bootstrap, settings.topics())
    wait_for(lambda: _led(settings), 60, "leaders for the new topics' partitions")
    try:
        yield settings
    finally:
        topics = settings.topics()
        dead = [topics.dlq(name) for name in worker_names()]
        admin = AdminClient({"bootstrap.servers": stack.kafka_bootstrap})
        existing = set(admin.list_topics(timeout=30).topics)
        doomed = [t for t in [*topics.events, *dead] if t in existing]
        for future in admin.delete_topics(doomed).values() if doomed else ():
            future.result(60)  # wait: a session that exits first never sends the request


def _led(settings: Settings) -> bool:
    """Does every partition of the namespace answer for its offsets yet?"""
    try:
        watermarks(settings.kafka_bootstrap, settings.topics().events)
    except KafkaException:
        return False
    return True


class Lab:
    """Started runners, by name (``relay`` and each processor)."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.runners: dict[str, Runner] = {}
        self._threads: dict[str, threading.Thread] = {}

    def start(self, name: str, runner: Runner | None = None) -> Runner:
        runner = runner or (
            build_relay(self.settings, 500)
            if name == "relay"
            else build_runner(self.settings, name)
        )
        thread = threading.Thread(target=runner.run, name=name, daemon=True)
        thread.start()
        self.runners[name], self._threads[name] = runner, thread
        return runner

    def stop(self, name: str) -> None:
        self.runners.pop(name).stop()
        self._threads.pop(name).join(timeout=60)

    def stop_all(self) -> None:
        for name in list(self.runners):
            self.stop(name)

    def settle(self, names: Sequence[str] = (), timeout_s: float = 120) -> None:
        """Until the outbox is empty and every named processor's group has read everything."""
        wait_settled(
            self.settings, names or [n for n in self.runners if n != "relay"], timeout_s=timeout_s
        )


@contextmanager
def lab_running(
    settings: Settings, names: Sequence[str] = LAB_PROCESSORS, *, relay: bool = True
) -> Iterator[Lab]:
    lab = Lab(settings)
    try:
        if relay:
            lab.start("relay")
        for name in names:
            lab.start(name)
        yield lab
    finally:
        lab.stop_all()


def wait_for(check: Callable[[], bool], seconds: float = 60, what: str = "a condition") -> None:
    deadline = time.monotonic() + seconds
    while not check():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.2)
