"""Notification command handlers: open the notification on its first attempt, then record."""

from __future__ import annotations

from domains.notification.commands import (
    NotificationFacts,
    RecordNotificationFailed,
    RecordNotificationSent,
)
from domains.notification.model import Notification
from domains.shared.errors import NotFound
from domains.shared.uow import AbstractUnitOfWork, Outcome


def record_notification_sent(cmd: RecordNotificationSent, uow: AbstractUnitOfWork) -> Outcome:
    notification = _notification(uow, cmd.organization_id, cmd.notification)
    notification.record_sent(
        cmd.attempt, message_id=cmd.message_id, provider_message_id=cmd.provider_message_id
    )
    return _outcome(notification)


def record_notification_failed(cmd: RecordNotificationFailed, uow: AbstractUnitOfWork) -> Outcome:
    notification = _notification(uow, cmd.organization_id, cmd.notification)
    notification.record_failed(
        cmd.attempt, reason=cmd.reason, will_retry=cmd.will_retry,
        next_attempt_at=cmd.next_attempt_at,
    )  # fmt: skip
    return _outcome(notification)


def _notification(
    uow: AbstractUnitOfWork, organization_id: str, facts: NotificationFacts
) -> Notification:
    notifications = uow.repository(Notification)
    try:
        return notifications.get(organization_id, facts.notification_id)
    except NotFound:
        notification = Notification.open(facts, organization_id)
        notifications.add(notification)
        return notification


def _outcome(notification: Notification) -> Outcome:
    return {
        "notification_id": notification.id,
        "status": notification.status,
        "attempt": notification.attempts,
    }
