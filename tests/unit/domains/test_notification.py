"""The Notification aggregate: attempts recorded once and in order, masked contacts only, and
what a critical value detection carries for the notifier."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

import pytest

from domains.notification.commands import (
    NotificationFacts,
    RecordNotificationFailed,
    RecordNotificationSent,
)
from domains.notification.events import NotificationFailed, NotificationSent
from domains.notification.model import Notification
from domains.result.commands import EnterResult
from domains.result.events import CriticalValueDetected
from domains.shared.errors import IllegalTransition, InvalidInput
from domains.shared.policy import LabPolicy
from tests.unit.domains.conftest import ORG, POTASSIUM, order, received_sample, register
from tests.unit.fakes import FakeApp

FACTS = NotificationFacts(
    notification_id="n-1",
    channel="email",
    recipient_role="ordering_clinician",
    recipient_name="Dr. A. Rao",
    contact_masked="a***@lab.example",
    purpose="critical_value",
    subject_type="critical_value",
    subject_id="crit-1",
    result_id="res-1",
    tier=0,
)
LATER = datetime(2024, 6, 15, 5, 0, tzinfo=UTC)


def sent(attempt: int, facts: NotificationFacts = FACTS) -> RecordNotificationSent:
    return RecordNotificationSent(
        organization_id=ORG, notification=facts, attempt=attempt, message_id="<m@lis>",
        provider_message_id="q-1",
    )  # fmt: skip


def failed(attempt: int, *, will_retry: bool = True) -> RecordNotificationFailed:
    return RecordNotificationFailed(
        organization_id=ORG, notification=FACTS, attempt=attempt, reason="451 try later",
        will_retry=will_retry, next_attempt_at=LATER if will_retry else None,
    )  # fmt: skip


def test_a_first_successful_attempt_is_one_notification_sent_event(app: FakeApp) -> None:
    app.handle(sent(1))
    [event] = app.uow.events(NotificationSent)
    assert (event.notification_id, event.attempt, event.provider_message_id) == ("n-1", 1, "q-1")
    assert (event.channel, event.contact_masked, event.tier) == ("email", "a***@lab.example", 0)
    assert app.load(Notification, "n-1", ORG).status == "sent"


def test_failed_attempts_are_recorded_in_order_then_the_retry_that_got_through(
    app: FakeApp,
) -> None:
    app.handle(failed(1))
    app.handle(failed(2))
    app.handle(sent(3))
    assert [e.attempt for e in app.uow.events(NotificationFailed)] == [1, 2]
    assert app.uow.events(NotificationFailed)[0].next_attempt_at == LATER
    assert [e.metadata.aggregate_version for e in app.uow.committed] == [1, 2, 3]


def test_an_attempt_is_never_recorded_twice_nor_out_of_order(app: FakeApp) -> None:
    app.handle(failed(2))
    with pytest.raises(IllegalTransition, match="recorded once, in order"):
        app.handle(failed(1))
    app.handle(sent(3))
    with pytest.raises(IllegalTransition):
        app.handle(sent(4))  # sent is final


def test_when_attempts_are_used_up_the_notification_has_failed(app: FakeApp) -> None:
    app.handle(failed(1, will_retry=False))
    assert app.load(Notification, "n-1", ORG).status == "failed"
    assert app.uow.events(NotificationFailed)[0].will_retry is False


@pytest.mark.parametrize("contact", ["arao@lab.example", "+919876543210", "9876543210"])
def test_an_unmasked_contact_is_refused_before_it_can_reach_kafka(
    app: FakeApp, contact: str
) -> None:
    with pytest.raises(InvalidInput, match="contact_masked"):
        app.handle(sent(1, replace(FACTS, contact_masked=contact)))
    assert app.uow.committed == []


def test_a_retry_without_its_time_or_a_failure_without_its_reason_is_refused(
    app: FakeApp,
) -> None:
    with pytest.raises(InvalidInput, match="next_attempt_at"):
        app.handle(replace(failed(1), next_attempt_at=None))
    with pytest.raises(InvalidInput, match="reason"):
        app.handle(replace(failed(1), reason=" "))


def test_a_critical_detection_carries_what_the_notifier_needs(app: FakeApp) -> None:
    patient_id = register(app)["patient_id"]
    order_id = order(app, patient_id, POTASSIUM, ordering_provider_id="dr-rao")
    sample_id = received_sample(app, order_id)
    app.handle(
        EnterResult(
            organization_id=ORG, user_id="tech-1", sample_id=sample_id, loinc_code=POTASSIUM,
            value_text="7.1", unit="mmol/L",
        )
    )  # fmt: skip
    [detected] = app.uow.events(CriticalValueDetected)
    assert detected.ordering_provider_id == "dr-rao"
    assert detected.ordering_clinician_name == "Dr. Rao"
    assert detected.placer_order_number is not None
    assert detected.mrn is not None
    assert detected.collected_at is not None
    assert detected.collected_at.tzinfo is not None
    assert (detected.value, detected.unit, detected.critical_high) == (7.1, "mmol/L", 6.2)


def test_an_ordering_provider_id_is_optional_and_bounded(app: FakeApp) -> None:
    patient_id = register(app)["patient_id"]
    order(app, patient_id, POTASSIUM)  # none: the clinician is not in the directory
    with pytest.raises(InvalidInput, match="ordering_provider_id"):
        order(app, patient_id, POTASSIUM, ordering_provider_id="x" * 65)


def test_the_critical_ack_sla_is_15_minutes_unless_the_lab_sets_it_per_priority() -> None:
    assert LabPolicy().critical_ack_sla("stat").total_seconds() == 900
    policy = LabPolicy(
        critical_ack_sla_seconds=600, critical_ack_sla_seconds_by_priority={"stat": 120}
    )
    assert policy.critical_ack_sla("stat").total_seconds() == 120
    assert policy.critical_ack_sla("routine").total_seconds() == 600
    with pytest.raises(ValueError, match=r"critical_ack_sla_seconds_by_priority\.stat"):
        LabPolicy(critical_ack_sla_seconds_by_priority={"stat": 0})
