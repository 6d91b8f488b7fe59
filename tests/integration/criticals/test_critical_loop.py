"""The critical value loop end to end on the real stack and a real SMTP server: the ordering
clinician is emailed (NOTIFICATION_SENT caused by the detection), a read-back in time stops the
clock, silence escalates tier by tier after the SLA, and nobody to call escalates at once."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from consumers.flow_reader import read_flows, watermarks
from domains.result.commands import AcknowledgeCriticalValue, AmendResult
from infra.config.settings import Settings
from tests.integration.criticals.conftest import (
    CLINICIAN,
    ORG,
    PATHOLOGIST,
    SUPERVISOR,
    SmtpServer,
    body,
    critical_of,
    critical_result,
    critical_settings,
    free_port,
    recipient,
    rows,
    start_loop,
    wait_for,
)

pytestmark = pytest.mark.integration
SLA = 2.0  # seconds: the organization's policy where the test waits for escalations
# where a read-back (or an amendment) must come in time: the pipeline on a busy 2-core machine
# (relay, consumer, notifier, SMTP) must never eat the SLA before the test can answer
ANSWER_SLA = 8.0


def flow(settings: Settings, start: Any, correlation_id: str) -> list[dict[str, Any]]:
    events = read_flows(
        settings.kafka_bootstrap, settings.schema_registry_url, start, {correlation_id}
    )
    return [e.record for e in events]


def of_type(records: list[dict[str, Any]], event_type: str) -> list[dict[str, Any]]:
    return [r for r in records if r["metadata"]["event_type"] == event_type]


def test_a_detection_emails_the_ordering_clinician_and_a_read_back_in_time_stops_the_clock(
    on_stack: Settings, tmp_path: Path, smtp: SmtpServer, running: Callable[[Any], Any]
) -> None:
    settings = critical_settings(on_stack, tmp_path, smtp.port, sla_seconds=ANSWER_SLA)
    start = watermarks(settings.kafka_bootstrap, settings.topics().events)
    bus, _loop, _relay = start_loop(settings, running)

    result = critical_result(bus)
    [critical_id] = result["critical_ids"]
    [mail] = wait_for(smtp.messages, what="the email")
    # the clinician reads it back at once; what was published is checked afterwards
    bus.handle(
        AcknowledgeCriticalValue(
            organization_id=ORG, user_id="tech", result_id=result["result_id"],
            critical_id=critical_id, acknowledged_by="Dr. A. Rao", called_by="tech",
            read_back_confirmed=True, correlation_id=result["correlation_id"],
        )
    )  # fmt: skip
    assert (recipient(mail), critical_of(mail)) == (CLINICIAN, critical_id)
    assert "CRITICAL VALUE" in mail["Subject"]
    assert "7.1 mmol/L (HH)" in mail["Subject"]

    records = wait_for(
        lambda: (r := flow(settings, start, result["correlation_id"]))
        and of_type(r, "NOTIFICATION_SENT") and r,
        what="NOTIFICATION_SENT on Kafka",
    )  # fmt: skip
    [detected] = of_type(records, "CRITICAL_VALUE_DETECTED")
    [sent] = of_type(records, "NOTIFICATION_SENT")
    assert sent["metadata"]["causation_id"] == detected["metadata"]["event_id"]
    assert sent["metadata"]["correlation_id"] == result["correlation_id"]
    assert (sent["channel"], sent["recipient_role"], sent["tier"], sent["attempt"]) == (
        "email", "ordering_clinician", 0, 1,
    )  # fmt: skip
    assert sent["contact_masked"] == "a***@wards.test.lis"
    assert sent["message_id"] == mail["Message-ID"]
    assert sent["provider_message_id"] in {p.name for p in (smtp.maildir / "new").iterdir()}
    assert CLINICIAN not in repr(records)  # the address itself never reaches Kafka

    cancelled = wait_for(
        lambda: rows(
            settings.database_url,
            "SELECT status, outcome FROM timers WHERE subject_id = :c AND status = 'cancelled'",
            c=critical_id,
        ),
        what="the timer cancelled",
    )
    assert cancelled[0].outcome == "acknowledged by Dr. A. Rao"
    sleep_past_due(settings, critical_id)  # past the SLA: nothing more may happen
    assert len(smtp.messages()) == 1
    timers = rows(settings.database_url, "SELECT status FROM timers WHERE subject_id = :c",
                  c=critical_id)  # fmt: skip
    assert [t.status for t in timers] == ["cancelled"]
    assert not of_type(flow(settings, start, result["correlation_id"]), "CRITICAL_VALUE_ESCALATED")


def sleep_past_due(settings: Settings, critical_id: str) -> None:
    """Sleep until every timer of the episode is 1.5 s past due (by the database's clock)."""
    [left] = rows(
        settings.database_url,
        "SELECT GREATEST(EXTRACT(EPOCH FROM max(due_at) - now()), 0)::float AS s FROM timers"
        " WHERE subject_id = :c",
        c=critical_id,
    )
    assert left.s < ANSWER_SLA  # the timer exists and is not later than the policy says
    time.sleep(left.s + 1.5)


def test_without_a_read_back_the_supervisor_then_the_pathologist_are_called_after_the_sla(
    on_stack: Settings, tmp_path: Path, smtp: SmtpServer, running: Callable[[Any], Any]
) -> None:
    settings = critical_settings(on_stack, tmp_path, smtp.port, sla_seconds=SLA)
    start = watermarks(settings.kafka_bootstrap, settings.topics().events)
    bus, _loop, _relay = start_loop(settings, running)

    result = critical_result(bus)
    [critical_id] = result["critical_ids"]
    mails = wait_for(lambda: len(m := smtp.messages()) >= 3 and m, what="3 emails")
    by_recipient = {recipient(m): m for m in mails}
    assert set(by_recipient) == {CLINICIAN, SUPERVISOR, PATHOLOGIST}
    assert len(mails) == 3
    assert {critical_of(m) for m in mails} == {critical_id}
    assert "ESCALATED to the lab supervisor" in body(by_recipient[SUPERVISOR])

    def escalations() -> list[dict[str, Any]]:
        records = flow(settings, start, result["correlation_id"])
        return records if len(of_type(records, "NOTIFICATION_SENT")) == 3 else []

    records = wait_for(escalations, what="three NOTIFICATION_SENT")
    [detected] = of_type(records, "CRITICAL_VALUE_DETECTED")
    tier1, tier2 = of_type(records, "CRITICAL_VALUE_ESCALATED")
    assert (tier1["tier"], tier2["tier"]) == (1, 2)
    # each tier after its own SLA, each caused by the step before it
    assert tier1["metadata"]["causation_id"] == detected["metadata"]["event_id"]
    assert tier2["metadata"]["causation_id"] == tier1["metadata"]["event_id"]
    waited1 = (tier1["escalated_at"] - detected["detected_at"]).total_seconds()
    waited2 = (tier2["escalated_at"] - tier1["escalated_at"]).total_seconds()
    assert SLA <= waited1 < SLA + 10
    assert SLA <= waited2 < SLA + 10
    sent = {r["tier"]: r for r in of_type(records, "NOTIFICATION_SENT")}
    assert sent[1]["recipient_role"] == "lab_supervisor"
    assert sent[2]["recipient_role"] == "pathologist"
    assert sent[1]["metadata"]["causation_id"] == tier1["metadata"]["event_id"]
    assert sent[2]["metadata"]["causation_id"] == tier2["metadata"]["event_id"]
    timers = rows(settings.database_url, "SELECT status FROM timers WHERE subject_id = :c",
                  c=critical_id)  # fmt: skip
    assert sorted(t.status for t in timers) == ["fired", "fired"]  # the last tier has none


def test_an_ordering_clinician_nobody_can_reach_is_a_failed_notification_and_escalates_now(
    on_stack: Settings, tmp_path: Path, smtp: SmtpServer, running: Callable[[Any], Any]
) -> None:
    settings = critical_settings(on_stack, tmp_path, smtp.port, sla_seconds=600)
    start = watermarks(settings.kafka_bootstrap, settings.topics().events)
    bus, _loop, _relay = start_loop(settings, running)

    result = critical_result(bus, provider=None)  # the order names nobody in the directory
    [mail] = wait_for(smtp.messages, seconds=30, what="the supervisor's email")
    assert recipient(mail) == SUPERVISOR  # at once, not after the 10-minute SLA

    def recorded() -> list[dict[str, Any]]:
        records = flow(settings, start, result["correlation_id"])
        return records if of_type(records, "NOTIFICATION_SENT") else []

    records = wait_for(recorded, what="the records")
    [failed] = of_type(records, "NOTIFICATION_FAILED")
    assert (failed["channel"], failed["recipient_role"], failed["will_retry"]) == (
        "none", "ordering_clinician", False,
    )  # fmt: skip
    assert "nobody in the directory" in failed["reason"]
    [escalated] = of_type(records, "CRITICAL_VALUE_ESCALATED")
    assert escalated["tier"] == 1


def test_a_failed_send_is_retried_with_backoff_and_every_attempt_is_recorded(
    on_stack: Settings, tmp_path: Path, running: Callable[[Any], Any]
) -> None:
    server = SmtpServer(free_port(), tmp_path / "mail")  # not started yet: connection refused
    settings = critical_settings(on_stack, tmp_path, server.port, sla_seconds=600)
    # enough attempts that a server slow to start never makes the last one final
    settings = settings.model_copy(update={"notify_max_attempts": 30})
    start = watermarks(settings.kafka_bootstrap, settings.topics().events)
    bus, _loop, _relay = start_loop(settings, running)
    result = critical_result(bus)
    wait_for(
        lambda: rows(settings.database_url,
                     "SELECT 1 FROM notification_attempts WHERE attempt = 2"),
        what="two failed attempts",
    )  # fmt: skip
    server.start()
    try:
        [mail] = wait_for(server.messages, what="the email once the server is up")
    finally:
        server.stop()

    def recorded() -> list[dict[str, Any]]:
        records = flow(settings, start, result["correlation_id"])
        return records if of_type(records, "NOTIFICATION_SENT") else []

    records = wait_for(recorded, what="NOTIFICATION_SENT")
    failures = of_type(records, "NOTIFICATION_FAILED")
    [sent] = of_type(records, "NOTIFICATION_SENT")
    assert [f["attempt"] for f in failures] == list(range(1, len(failures) + 1))
    assert len(failures) >= 2
    assert all(f["will_retry"] for f in failures)
    assert sent["attempt"] == len(failures) + 1
    assert sent["message_id"] == mail["Message-ID"]
    # backoff: each retry waited at least twice as long as the one before
    times = [f["next_attempt_at"] - f["metadata"]["occurred_at"] for f in failures[:2]]
    assert times[1] > times[0]
    versions = [r["metadata"]["aggregate_version"] for r in [*failures, sent]]
    assert versions == list(range(1, len(versions) + 1))


def test_an_amendment_that_supersedes_the_episode_stops_its_clock(
    on_stack: Settings, tmp_path: Path, smtp: SmtpServer, running: Callable[[Any], Any]
) -> None:
    settings = critical_settings(on_stack, tmp_path, smtp.port, sla_seconds=ANSWER_SLA)
    bus, _loop, _relay = start_loop(settings, running)
    result = critical_result(bus)
    [critical_id] = result["critical_ids"]
    wait_for(smtp.messages, what="the clinician's email")

    bus.handle(
        AmendResult(
            organization_id=ORG, user_id="tech2", result_id=result["result_id"],
            value_text="4.4", unit="mmol/L", reason="haemolysed sample re-run",
        )
    )  # fmt: skip
    cancelled = wait_for(
        lambda: rows(
            settings.database_url,
            "SELECT outcome FROM timers WHERE subject_id = :c AND status = 'cancelled'",
            c=critical_id,
        ),
        what="the timer cancelled",
    )
    assert cancelled[0].outcome == "superseded by amendment 1"
    sleep_past_due(settings, critical_id)  # nobody else is called about a value that is gone
    assert len(smtp.messages()) == 1
