"""Notification events (topic ``lis.notification.events``). Contacts are masked only."""

from __future__ import annotations

from dataclasses import dataclass

from domains.shared.messages import Event


@dataclass(frozen=True, kw_only=True)
class NotificationSent(Event):
    event_type = "NOTIFICATION_SENT"
    aggregate_type = "Notification"

    notification_id: str
    channel: str  # sms | email | phone | whatsapp | pager
    recipient_role: str  # ordering_clinician | patient | lab_supervisor | ...
    recipient_name: str
    contact_masked: str
    purpose: str  # critical_value | escalation | recollection | report_ready
    subject_type: str  # result | critical_value | sample | report
    subject_id: str  # e.g. the critical_id or report_id
    order_id: str | None = None
    patient_id: str | None = None
    tier: int | None = None  # escalation tier for critical value calls


@dataclass(frozen=True, kw_only=True)
class NotificationFailed(Event):
    event_type = "NOTIFICATION_FAILED"
    aggregate_type = "Notification"

    notification_id: str
    channel: str
    recipient_role: str
    recipient_name: str
    contact_masked: str
    purpose: str
    subject_type: str
    subject_id: str
    reason: str
    attempt: int = 1
    order_id: str | None = None
    patient_id: str | None = None
    tier: int | None = None
