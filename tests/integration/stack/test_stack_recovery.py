"""kill -9 of the broker, then `lis stack up`: it comes back with its topics and messages.

Disruptive (the broker is gone for ~20 s), so conftest runs it after every other test.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from confluent_kafka import Consumer, KafkaError, KafkaException, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic

from infra.config.settings import Settings
from infra.stack import proc
from infra.stack.common import StackPaths
from infra.stack.kafka_broker import MARKER, Kafka

pytestmark = [pytest.mark.integration, pytest.mark.disruptive]


def _message_count(bootstrap: str, topic: str, partitions: int) -> int:
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": "lis-recovery-probe"})
    try:
        return sum(_watermarks(consumer, TopicPartition(topic, p)) for p in range(partitions))
    finally:
        consumer.close()


def _watermarks(consumer: Consumer, partition: TopicPartition, timeout_s: float = 60) -> int:
    """high - low of one partition. Right after an unclean restart the broker answers metadata
    while it is still loading logs, and a one-shot offsets query gets a retriable error
    (NOT_LEADER_FOR_PARTITION) that a consumer would simply retry: so do we, for a while."""
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            low, high = consumer.get_watermark_offsets(partition, timeout=30)
            return int(high - low)
        except KafkaException as exc:
            error = exc.args[0]
            loading = error.retriable() or error.code() == KafkaError.NOT_LEADER_FOR_PARTITION
            if not loading or time.monotonic() > deadline:
                raise
            time.sleep(0.5)


def test_broker_killed_with_sigkill_comes_back_with_its_topics_intact(
    stack: Settings, unique_name: Callable[[str], str]
) -> None:
    topic = unique_name("recovery")
    admin = AdminClient({"bootstrap.servers": stack.kafka_bootstrap})
    admin.create_topics([NewTopic(topic, num_partitions=3, replication_factor=1)])[topic].result()
    producer = Producer({"bootstrap.servers": stack.kafka_bootstrap, "acks": "all"})
    for n in range(300):
        producer.produce(topic, key=str(n % 17), value=f"event-{n}".encode())
    assert producer.flush(30) == 0

    kafka = Kafka(stack, StackPaths(stack.stack_home))
    pid = proc.running_pid(kafka.pid_file, MARKER)
    assert pid is not None, "the broker is not running under lis stack"
    os.kill(pid, signal.SIGKILL)
    _wait_gone(pid)
    assert not kafka.healthy()

    lis = shutil.which("lis") or str(Path(sys.executable).with_name("lis"))
    subprocess.run([lis, "stack", "up"], check=True, timeout=600)

    assert kafka.healthy()
    metadata = AdminClient({"bootstrap.servers": stack.kafka_bootstrap}).list_topics(timeout=30)
    assert len(metadata.topics[topic].partitions) == 3
    assert _message_count(stack.kafka_bootstrap, topic, 3) == 300


def _wait_gone(pid: int, timeout_s: float = 30) -> None:
    """Until the pid is gone or a zombie (nobody may reap a detached broker here)."""
    deadline = time.monotonic() + timeout_s
    status = Path(f"/proc/{pid}/status")
    while time.monotonic() < deadline:
        try:
            state = next(
                line for line in status.read_text().splitlines() if line.startswith("State:")
            )
        except FileNotFoundError:
            return
        if "Z" in state.split()[1]:
            return
        time.sleep(0.2)
    raise AssertionError(f"broker pid {pid} still alive after SIGKILL")
