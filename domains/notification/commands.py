"""Notification commands: the notifier records what happened to each attempt to reach someone.

The notifier (``consumers/processors/notifications.py``) is the only sender. It decides, sends,
and then tells the Notification aggregate the outcome, so every attempt is in the audited
record on ``lis.notification.events`` with the event that caused it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from domains.shared.messages import Command


@dataclass(frozen=True, kw_only=True)
class NotificationFacts:
    """Who was to be told what, and how: fixed for every attempt of one notification."""

    notification_id: str
    channel: str  # email | sms | whatsapp | none (nobody could be found to notify)
    recipient_role: str  # ordering_clinician | lab_supervisor | pathologist
    recipient_name: str
    contact_masked: str  # never the address itself: events and logs see only the mask
    purpose: str  # critical_value | escalation
    subject_type: str  # critical_value
    subject_id: str  # the critical_id
    result_id: str | None = None
    order_id: str | None = None
    patient_id: str | None = None
    tier: int | None = None  # 0 = the ordering clinician, 1 = lab supervisor, 2 = pathologist


@dataclass(frozen=True, kw_only=True)
class RecordNotificationSent(Command):
    notification: NotificationFacts
    attempt: int
    message_id: str | None = None
    provider_message_id: str | None = None


@dataclass(frozen=True, kw_only=True)
class RecordNotificationFailed(Command):
    notification: NotificationFacts
    attempt: int
    reason: str
    will_retry: bool
    next_attempt_at: datetime | None = None
