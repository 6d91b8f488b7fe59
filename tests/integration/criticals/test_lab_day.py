"""A simulated lab day with the critical value worker running: every CRITICAL_VALUE_DETECTED
has a NOTIFICATION_SENT caused by it and an email in the Maildir; people read back only after
being notified; the calls left unanswered are escalated by the timers (never by a person), to
the right tier, and read back there."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

import pytest
import yaml

from consumers.flow_reader import read_flows, watermarks
from domains.catalog.model import load_catalog
from infra.cli.directory import load_file
from infra.config.settings import REPO_ROOT, Settings
from infra.db.engine import make_engine
from infra.simulation.clinicians import NotifiedCalls
from infra.simulation.day import run_day
from tests.integration.criticals.conftest import (
    SmtpServer,
    critical_of,
    critical_settings,
    recipient,
    start_loop,
    wait_for,
)
from tests.integration.lab import lab_running, own_namespace

pytestmark = pytest.mark.integration
DAY_ORG = "org-day"


def test_every_critical_of_a_simulated_day_is_notified_by_email_and_read_back_after_it(
    on_stack: Settings, tmp_path: Path, smtp: SmtpServer, running: Callable[[Any], Any]
) -> None:
    # long enough for a clinician who answers (up to 1.5 s after the email) to beat the clock
    # with the whole pipeline (relay, consumers, notifier, the day's other visits) on 2 cores
    with own_namespace(on_stack, on_stack.database_url, "crit-day") as namespace:
        settings = critical_settings(namespace, tmp_path, smtp.port, sla_seconds=10.0)
        directory = yaml.safe_load((REPO_ROOT / "infra/simulation/directory.yaml").read_text())
        (tmp_path / "day.yaml").write_text(yaml.safe_dump({**directory, "organization": DAY_ORG}))
        load_file(tmp_path / "day.yaml", settings.database_url)
        _check_day(settings, directory, smtp, running)


def _check_day(
    settings: Settings, directory: dict[str, Any], smtp: SmtpServer, running: Callable[[Any], Any]
) -> None:
    emails = {p["role"]: p["email"] for p in directory["providers"]}
    start = watermarks(settings.kafka_bootstrap, settings.topics().events)
    bus, _loop, _relay = start_loop(settings, running)  # the relay and the critical loop
    engine = make_engine(settings.database_url)
    catalog = load_catalog()

    with lab_running(settings, relay=False):  # routing, completion, reporting
        report = run_day(
            bus, catalog, organization_id=DAY_ORG, patients=14, seed=4, today=date.today(),
            critical_rate=0.6, calls=NotifiedCalls(bus.handle, engine, patience_s=60, seed=4),
        )  # fmt: skip
    engine.dispose()

    assert report.criticals >= 3
    assert report.calls.without_notification == 0  # everyone was reached before reading back
    escalated_calls = report.calls.acknowledged_by_tier[1] + report.calls.acknowledged_by_tier[2]
    assert escalated_calls >= 1
    assert "EscalateCriticalValue" not in report.commands  # people do not escalate

    def day_on_kafka() -> list[dict[str, Any]]:
        events = read_flows(settings.kafka_bootstrap, settings.schema_registry_url, start,
                            set(report.correlation_ids))  # fmt: skip
        records = list({e.metadata["event_id"]: e.record for e in events}.values())
        acks = [r for r in records if r["metadata"]["event_type"] == "CRITICAL_VALUE_ACKNOWLEDGED"]
        return records if len(acks) == report.criticals else []

    records = wait_for(day_on_kafka, seconds=120, what="the day's acknowledgements on Kafka")
    by_type: dict[str, list[dict[str, Any]]] = {}
    for r in records:
        by_type.setdefault(r["metadata"]["event_type"], []).append(r)
    detections = by_type["CRITICAL_VALUE_DETECTED"]
    assert len(detections) == report.criticals
    sent = by_type["NOTIFICATION_SENT"]
    first_calls = {s["metadata"]["causation_id"]: s for s in sent if s["tier"] == 0}
    mails = smtp.messages()
    mailed = Counter((critical_of(m), recipient(m)) for m in mails)
    acks = {a["critical_id"]: a for a in by_type["CRITICAL_VALUE_ACKNOWLEDGED"]}
    for detection in detections:
        meta = detection["metadata"]
        notified = first_calls[meta["event_id"]]  # caused by this detection
        assert notified["metadata"]["correlation_id"] == meta["correlation_id"]
        assert notified["subject_id"] == detection["critical_id"]
        to_clinicians = [
            who for (c, who), n in mailed.items() for _ in range(n)
            if c == detection["critical_id"] and who.endswith("@wards.lis.local")
        ]  # fmt: skip
        assert len(to_clinicians) == 1  # one email to the ordering clinician, none twice
        assert notified["contact_masked"] == f"{to_clinicians[0][0]}***@wards.lis.local"
        ack = acks[detection["critical_id"]]
        assert ack["acknowledged_at"] > notified["metadata"]["occurred_at"]

    escalations = by_type.get("CRITICAL_VALUE_ESCALATED", [])
    assert {e["metadata"]["user_id"] for e in escalations} == {None}  # the timers did it
    assert Counter(e["tier"] for e in escalations)[1] == escalated_calls
    for escalation in escalations:
        tier_sent = [s for s in sent if s["metadata"]["causation_id"] ==
                     escalation["metadata"]["event_id"]]  # fmt: skip
        assert [s["recipient_role"] for s in tier_sent] == [
            {1: "lab_supervisor", 2: "pathologist"}[escalation["tier"]]
        ]
        role = {1: "lab_supervisor", 2: "pathologist"}[escalation["tier"]]
        assert mailed[(escalation["critical_id"], emails[role])] == 1
