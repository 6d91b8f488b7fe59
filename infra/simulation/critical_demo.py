"""The critical value loop in ``lis demo``: its worker, the demo lab's directory and SLA, and the
summary lines (notifications by channel, escalations by tier, detection -> notification and ->
read-back, where the emails are). Kept apart from the demo's own flow: additive lines only."""

from __future__ import annotations

import contextlib
import os
import shutil
import statistics
import subprocess
import sys
import time
from collections import Counter
from datetime import datetime
from pathlib import Path
from typing import Any

import yaml

from consumers.flow_reader import FlowEvent
from infra.config.settings import REPO_ROOT, Settings
from infra.stack.common import StackPaths
from infra.stack.smtp_server import SmtpServer

DIRECTORY_FILE = REPO_ROOT / "infra" / "simulation" / "directory.yaml"
DEMO_POLICY = REPO_ROOT / "infra" / "simulation" / "demo_policy.yaml"


def demo_settings(settings: Settings) -> Settings:
    """The demo's SLA is seconds (``demo_policy.yaml``) unless a policy file is configured."""
    if settings.lab_policy_file is not None:
        return settings
    return settings.model_copy(update={"lab_policy_file": DEMO_POLICY})


def load_directory(settings: Settings, organization_id: str) -> None:
    from infra.cli.directory import load_file

    data = yaml.safe_load(DIRECTORY_FILE.read_text())
    path = settings.stack_home / "run" / f"directory-{organization_id}.yaml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump({**data, "organization": organization_id}))
    load_file(path, settings.database_url)


def start_critical_worker(settings: Settings) -> subprocess.Popen[bytes]:
    """``lis worker criticals`` with the demo's settings, logging under the stack home."""
    lis = shutil.which("lis") or str(Path(sys.executable).with_name("lis"))
    log_dir = settings.stack_home / "logs"
    log_dir.mkdir(parents=True, exist_ok=True)
    env = {
        "LIS_DATABASE_URL": settings.database_url,
        "LIS_TOPIC_NAMESPACE": settings.topic_namespace,
        "LIS_SMTP_URL": settings.smtp_url,
        "LIS_LAB_POLICY_FILE": str(settings.lab_policy_file),
    }
    with (log_dir / "criticals.log").open("ab") as log:
        return subprocess.Popen(
            [lis, "worker", "criticals"], stdout=log, stderr=subprocess.STDOUT,
            env={**os.environ, **env},
        )  # fmt: skip


def wait_until_consuming(settings: Settings, timeout_s: float = 90.0) -> bool:
    """Until the critical worker's consumer has its partitions (a day's first critical would
    otherwise wait for the group to form); False if it did not within the time."""
    from confluent_kafka import ConsumerGroupState, KafkaException
    from confluent_kafka.admin import AdminClient

    admin = AdminClient({"bootstrap.servers": settings.kafka_bootstrap})
    group = settings.topics().group("criticals")
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        [found] = admin.describe_consumer_groups([group]).values()
        with contextlib.suppress(KafkaException):  # not there yet: the worker is starting
            description = found.result(timeout=10)
            assigned = any(m.assignment.topic_partitions for m in description.members)
            if description.state == ConsumerGroupState.STABLE and assigned:
                return True
        time.sleep(0.5)
    return False


def _seconds(values: list[float]) -> str:
    if not values:
        return "-"
    ordered = sorted(values)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    return f"p50 {statistics.median(ordered):.1f} s  p95 {p95:.1f} s  (n={len(ordered)})"


def critical_lines(events: list[FlowEvent], settings: Settings) -> list[str]:
    """The day's critical value calls, from its events on Kafka (and the Maildir)."""
    by_type: dict[str, list[dict[str, Any]]] = {}
    for record in {e.metadata["event_id"]: e.record for e in events}.values():
        by_type.setdefault(record["metadata"]["event_type"], []).append(record)
    sent, failed = by_type.get("NOTIFICATION_SENT", []), by_type.get("NOTIFICATION_FAILED", [])
    detections = by_type.get("CRITICAL_VALUE_DETECTED", [])
    detected = {r["critical_id"]: r["detected_at"] for r in detections}
    notified: dict[str, datetime] = {}
    for r in sorted(sent, key=lambda r: r["metadata"]["occurred_at"]):
        notified.setdefault(r["subject_id"], r["metadata"]["occurred_at"])
    read_back = {
        r["critical_id"]: r["acknowledged_at"]
        for r in by_type.get("CRITICAL_VALUE_ACKNOWLEDGED", [])
    }
    tiers = Counter(r["tier"] for r in by_type.get("CRITICAL_VALUE_ESCALATED", []))
    roles = Counter(r["recipient_role"] for r in sent)
    server = SmtpServer(settings, StackPaths(settings.stack_home))
    emails = sum(r["channel"] == "email" for r in sent)
    escalations = ", ".join(f"tier {t}: {n}" for t, n in sorted(tiers.items())) or "none"
    return [
        f"notifications     sent: {_per_channel(sent)}; failed: {_per_channel(failed)}",
        f"                  to {', '.join(f'{role} {n}' for role, n in sorted(roles.items()))}",
        f"escalations       {escalations}",
        f"detection -> notified   {_seconds(_since(detected, notified))}",
        f"detection -> read back  {_seconds(_since(detected, read_back))}",
        f"emails            {server.maildir} ({emails} from this day, {server.messages()} in all)",
    ]


def _per_channel(records: list[dict[str, Any]]) -> str:
    per = Counter(r["channel"] for r in records)
    return ", ".join(f"{channel} {n}" for channel, n in sorted(per.items())) or "none"


def _since(start: dict[str, datetime], end: dict[str, datetime]) -> list[float]:
    return [(end[c] - start[c]).total_seconds() for c in end if c in start]
