"""Notification events (topic ``lis.notification.events``). Contacts are masked only."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

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
    attempt: int | None = None  # 1 for the first try; a retry after a failed send is 2, ...
    # the channel provider's own id (SMTP queue id, gateway message id), for its delivery log
    provider_message_id: str | None = None
    message_id: str | None = None  # the email's Message-ID (deterministic per attempt)
    result_id: str | None = None


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
    result_id: str | None = None
    will_retry: bool | None = None  # False: attempts are used up (or the failure is permanent)
    next_attempt_at: datetime | None = None
