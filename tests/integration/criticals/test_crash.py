"""kill -9 of the critical value worker, mid-stream, three times: afterwards every detection
and every escalation has its email exactly once in the Maildir (counted per critical and
recipient), every critical was escalated to tier 1 and tier 2 exactly once (no timer lost, none
acting twice), and every attempt is on Kafka once."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from consumers.flow_reader import read_flows, watermarks
from infra.bootstrap import bootstrap, build_relay
from infra.config.settings import REPO_ROOT, Settings
from tests.integration.criticals.conftest import (
    CLINICIAN,
    PATHOLOGIST,
    SUPERVISOR,
    SmtpServer,
    critical_of,
    critical_result,
    critical_settings,
    group_at_end,
    recipient,
    rows,
    wait_for,
)

pytestmark = pytest.mark.integration
CRITICALS = 18
SLA = 3.0


class Worker:
    """The loop in a child process; ``crash()`` is kill -9, ``start()`` a restart."""

    def __init__(self, settings: Settings, group: str, log: Path) -> None:
        self.env = {
            **os.environ,
            "LIS_DATABASE_URL": settings.database_url,
            "LIS_SMTP_URL": settings.smtp_url,
            "LIS_LAB_POLICY_FILE": str(settings.lab_policy_file),
            "LIS_NOTIFY_RETRY_SECONDS": "0.5",
        }
        # static membership: a restarted worker takes its partitions back at once
        self.overrides = json.dumps(
            {"group.id": group, "group.instance.id": "crash-test-0", "session.timeout.ms": 6000}
        )
        self.log = log
        self.process: subprocess.Popen[bytes] | None = None
        self.kills = 0

    def start(self) -> None:
        with self.log.open("ab") as out:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "tests.integration.criticals.worker_main", self.overrides],
                cwd=REPO_ROOT, env=self.env, stdout=out, stderr=subprocess.STDOUT,
            )  # fmt: skip

    def crash(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=30)
        self.kills += 1

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=60)


def test_kill_9_mid_stream_loses_no_notification_and_sends_none_twice_nor_fires_a_timer_twice(
    on_stack: Settings, tmp_path: Path, smtp: SmtpServer, running: Callable[[Any], Any]
) -> None:
    settings = critical_settings(on_stack, tmp_path, smtp.port, sla_seconds=SLA)
    start = watermarks(settings.kafka_bootstrap, settings.topics().events)
    running(build_relay(settings, 500))
    bus = bootstrap(settings)
    worker = Worker(settings, group_at_end(settings), tmp_path / "worker.log")
    worker.start()
    made: list[dict[str, Any]] = []

    def make_criticals() -> None:
        made.extend(critical_result(bus, n=n) for n in range(CRITICALS))

    producer = threading.Thread(target=make_criticals)
    try:
        producer.start()
        at_kills = []
        # mid-stream for sure: once the first emails are out, once the detections are (the
        # timers start firing), once the first escalations are out
        for threshold in (3, CRITICALS, 2 * CRITICALS):

            def reached(t: int = threshold) -> bool:
                return len(smtp.messages()) >= t

            wait_for(reached, seconds=120)
            worker.crash()
            at_kills.append(len(smtp.messages()))
            worker.start()
        producer.join(timeout=120)
        expected = 3 * CRITICALS  # clinician, supervisor, pathologist
        wait_for(lambda: len(smtp.messages()) >= expected, seconds=180, what="every email")
        wait_for(
            lambda: rows(settings.database_url,
                         "SELECT count(*) AS n FROM timers WHERE status = 'fired'")[0].n
            == 2 * CRITICALS,
            what="every timer fired",
        )  # fmt: skip
        time.sleep(SLA + 2)  # any duplicate or extra firing would have happened by now
    finally:
        worker.stop()

    assert worker.kills == 3
    print("emails in the Maildir at each kill:", at_kills)
    assert at_kills[-1] < 3 * CRITICALS  # the last kill came before the work was done
    criticals = {c for m in made for c in m["critical_ids"]}
    mails = smtp.messages()
    message_ids: dict[tuple[str, str], set[str]] = {}
    for mail in mails:
        message_ids.setdefault((critical_of(mail), recipient(mail)), set()).add(mail["Message-ID"])
    # none lost: every detection and escalation reached its person
    assert set(message_ids) == {
        (c, who) for c in criticals for who in (CLINICIAN, SUPERVISOR, PATHOLOGIST)
    }
    # none sent twice as two messages: one Message-ID per critical and recipient
    assert {len(ids) for ids in message_ids.values()} == {1}
    # What the Maildir also shows: a send the server had taken (its "250") when the kill came,
    # before our commit of it, went again after the restart, as the same message (same
    # Message-ID, which mail clients fold into one). At most one per sending thread per kill.
    resent = len(mails) - len(message_ids)
    print(f"in-doubt resends (same Message-ID): {resent} over {worker.kills} kills")
    assert resent <= worker.kills * settings.notify_senders

    timers = rows(settings.database_url, "SELECT subject_id, status, outcome FROM timers")
    assert Counter(t.subject_id for t in timers) == dict.fromkeys(criticals, 2)
    assert {t.status for t in timers} == {"fired"}
    assert {t.outcome for t in timers} == {"escalated to tier 1", "escalated to tier 2"}

    correlation_ids = {m["correlation_id"] for m in made}

    def on_kafka() -> list[dict[str, Any]]:
        events = read_flows(
            settings.kafka_bootstrap, settings.schema_registry_url, start, correlation_ids
        )
        unique = {e.metadata["event_id"]: e.record for e in events}  # the relay may repeat
        sent = [r for r in unique.values() if r["metadata"]["event_type"] == "NOTIFICATION_SENT"]
        return list(unique.values()) if len(sent) >= 3 * CRITICALS else []

    records = wait_for(on_kafka, seconds=120, what="every NOTIFICATION_SENT on Kafka")
    escalated = Counter(
        (r["critical_id"], r["tier"])
        for r in records
        if r["metadata"]["event_type"] == "CRITICAL_VALUE_ESCALATED"
    )
    assert escalated == {(c, tier): 1 for c in criticals for tier in (1, 2)}
    sent = Counter(
        (r["subject_id"], r["tier"])
        for r in records
        if r["metadata"]["event_type"] == "NOTIFICATION_SENT"
    )
    assert sent == {(c, tier): 1 for c in criticals for tier in (0, 1, 2)}
