"""A call that cannot reach its person: an address the channel cannot send to fails that
delivery for good (the notifier carries on with everyone else's), the next tier is called at
once instead of after the SLA, and a delivery cancelled by a read-back while its attempt was
failing is never retried."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml
from sqlalchemy import text

from consumers.flow_reader import read_flows, watermarks
from consumers.processors import deliveries
from consumers.processors.deliveries import Delivery
from infra.cli.directory import load_file
from infra.config.settings import Settings
from infra.db.engine import make_engine, make_session_factory
from tests.integration.criticals.conftest import (
    CLINICIAN,
    DIRECTORY,
    SUPERVISOR,
    SmtpServer,
    critical_of,
    critical_result,
    critical_settings,
    recipient,
    rows,
    start_loop,
    wait_for,
)

pytestmark = pytest.mark.integration
UNSENDABLE = "müller@wards.test.lis"  # SMTP without SMTPUTF8 cannot carry it


def test_an_address_the_channel_cannot_send_to_fails_for_good_and_the_next_tier_is_called_now(
    on_stack: Settings, tmp_path: Path, smtp: SmtpServer, running: Callable[[Any], Any]
) -> None:
    settings = critical_settings(on_stack, tmp_path, smtp.port, sla_seconds=600)
    muller = {"id": "dr-muller", "name": "Dr. K. Müller", "role": "clinician",
              "email": UNSENDABLE, "channels": ["email"]}  # fmt: skip
    directory = tmp_path / "with-muller.yaml"
    directory.write_text(
        yaml.safe_dump(
            {**DIRECTORY, "providers": [*DIRECTORY["providers"], muller]}, allow_unicode=True
        )
    )
    load_file(directory, settings.database_url)
    start = watermarks(settings.kafka_bootstrap, settings.topics().events)
    bus, _loop, _relay = start_loop(settings, running)

    unsendable = critical_result(bus, provider="dr-muller")
    [critical_id] = unsendable["critical_ids"]
    # not after the 10-minute SLA: at once
    [mail] = wait_for(smtp.messages, seconds=60, what="the supervisor's email")
    assert (recipient(mail), critical_of(mail)) == (SUPERVISOR, critical_id)

    # the notifier carries on: the next critical reaches its clinician
    reachable = critical_result(bus, n=1)
    mails = wait_for(lambda: len(m := smtp.messages()) >= 2 and m, what="the clinician's email")
    assert (CLINICIAN, reachable["critical_ids"][0]) in {
        (recipient(m), critical_of(m)) for m in mails
    }

    def recorded() -> list[dict[str, Any]]:
        events = read_flows(settings.kafka_bootstrap, settings.schema_registry_url, start,
                            {unsendable["correlation_id"]})  # fmt: skip
        records = [e.record for e in events]
        types = [r["metadata"]["event_type"] for r in records]
        return records if "NOTIFICATION_FAILED" in types and "NOTIFICATION_SENT" in types else []

    records = wait_for(recorded, what="the failure and the supervisor's call on Kafka")
    [failed] = [r for r in records if r["metadata"]["event_type"] == "NOTIFICATION_FAILED"]
    assert (failed["tier"], failed["will_retry"], failed["attempt"]) == (0, False, 1)
    assert "cannot be" in failed["reason"]
    assert "UnicodeEncodeError" in failed["reason"]
    assert UNSENDABLE not in repr(records)  # masked everywhere
    [escalated] = [r for r in records if r["metadata"]["event_type"] == "CRITICAL_VALUE_ESCALATED"]
    assert escalated["tier"] == 1
    assert escalated["reason"].startswith("the ordering clinician could not be reached")
    timers = rows(settings.database_url,
                  "SELECT payload->>'tier' AS tier, status FROM timers WHERE subject_id = :c"
                  " ORDER BY created_at", c=critical_id)  # fmt: skip
    assert [(t.tier, t.status) for t in timers] == [("0", "fired"), ("1", "pending")]


def test_a_delivery_cancelled_while_its_attempt_failed_is_not_retried(on_stack: Settings) -> None:
    engine = make_engine(on_stack.database_url)
    sessions = make_session_factory(engine)
    delivery = Delivery(
        id="delivery-1", organization_id="org-1", trigger_event_id="event-1",
        correlation_id="flow-1", purpose="critical_value", subject_id="crit-1",
        result_id="res-1", order_id="ord-1", patient_id="pat-1", tier=0,
        recipient_role="ordering_clinician", provider_id="dr-rao", recipient_name="Dr. A. Rao",
        channel="sms", address="+919876543210", address_masked="+91******3210",
        subject_line="CRITICAL VALUE", body="...", detected_at=datetime.now(UTC),
    )  # fmt: skip
    try:
        with sessions.begin() as session:
            deliveries.plan(session, delivery)
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            claimed = deliveries.claim(conn, delivery.id)  # the notifier starts sending...
            assert claimed is not None
            with sessions.begin() as session:  # ...the read-back is recorded meanwhile...
                assert deliveries.cancel(session, "crit-1", "acknowledged by Dr. A. Rao") == 1
            retry_at = datetime.now(UTC) + timedelta(seconds=5)  # ...and the gateway said 503
            deliveries.failed(conn, claimed, message_id="m-1", error="503", retry_at=retry_at)
            deliveries.release(conn, delivery.id)
            row = conn.execute(
                text("SELECT status, attempt, last_error FROM notification_deliveries"
                     " WHERE id = :id"), {"id": delivery.id},
            ).one()  # fmt: skip
            attempt = conn.execute(
                text("SELECT will_retry, next_attempt_at FROM notification_attempts"
                     " WHERE notification_id = :id"), {"id": delivery.id},
            ).one()  # fmt: skip
            assert deliveries.due(conn) == []
    finally:
        engine.dispose()
    assert (row.status, row.attempt, row.last_error) == (
        "cancelled", 1, "acknowledged by Dr. A. Rao",
    )  # fmt: skip
    assert (attempt.will_retry, attempt.next_attempt_at) == (False, None)
