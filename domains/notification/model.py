"""Notification aggregate: one message to one person on one channel, and its attempts.

retrying -> (retrying ...) -> sent, or failed once the attempts are used up. Each attempt is
recorded once and in order (a retry never overtakes the failure it retries), and the contact
travels masked only: the aggregate refuses an address that looks unmasked, so a bug upstream
cannot put a clinician's email or mobile on Kafka.
"""

from __future__ import annotations

import re
from dataclasses import asdict
from datetime import datetime
from typing import Any, ClassVar, Self

from domains.notification.commands import NotificationFacts
from domains.notification.events import NotificationFailed, NotificationSent
from domains.shared.aggregate import Aggregate, Transitions
from domains.shared.errors import IllegalTransition, InvalidInput

CHANNELS = ("email", "sms", "whatsapp", "none")
_CLEAR_EMAIL = re.compile(r"^[^@*]{2,}@|^[^@]*[^*]@")  # more than one visible local character
_CLEAR_MOBILE = re.compile(r"\d{6,}")


def check_masked(contact: str) -> None:
    if _CLEAR_EMAIL.search(contact) or _CLEAR_MOBILE.search(contact):
        raise InvalidInput("contact_masked", "looks like an unmasked address; mask it first")


class Notification(Aggregate):
    aggregate_type = "Notification"
    lookup_fields = ("subject_id",)
    transitions: ClassVar[Transitions] = {
        "new": frozenset({"retrying", "sent", "failed"}),
        "retrying": frozenset({"retrying", "sent", "failed"}),
        "sent": frozenset(),
        "failed": frozenset(),
    }

    def __init__(
        self,
        *,
        facts: NotificationFacts,
        organization_id: str,
        status: str = "new",
        attempts: int = 0,
        version: int = 0,
    ) -> None:
        super().__init__(
            id=facts.notification_id, organization_id=organization_id, status=status,
            version=version,
        )  # fmt: skip
        self.facts = facts
        self.attempts = attempts  # the last attempt recorded

    @property
    def subject_id(self) -> str:
        return self.facts.subject_id

    @classmethod
    def open(cls, facts: NotificationFacts, organization_id: str) -> Notification:
        if facts.channel not in CHANNELS:
            raise InvalidInput("channel", f"must be one of {', '.join(CHANNELS)}")
        check_masked(facts.contact_masked)
        for name in ("notification_id", "recipient_role", "purpose", "subject_id"):
            if not getattr(facts, name).strip():
                raise InvalidInput(name, "is required")
        return cls(facts=facts, organization_id=organization_id)

    def record_sent(
        self, attempt: int, *, message_id: str | None, provider_message_id: str | None
    ) -> None:
        self._check_attempt(attempt, "sent")
        self._move_to("sent", f"record attempt {attempt} as sent")
        self.attempts = attempt
        self._record(
            NotificationSent(
                **self._common(), attempt=attempt, message_id=message_id,
                provider_message_id=provider_message_id,
            )
        )  # fmt: skip

    def record_failed(
        self, attempt: int, *, reason: str, will_retry: bool, next_attempt_at: datetime | None
    ) -> None:
        if not reason.strip():
            raise InvalidInput("reason", "a failed attempt needs its reason")
        if will_retry and next_attempt_at is None:
            raise InvalidInput("next_attempt_at", "a retry needs its time")
        self._check_attempt(attempt, "failed")
        self._move_to("retrying" if will_retry else "failed", f"record attempt {attempt}")
        self.attempts = attempt
        self._record(
            NotificationFailed(
                **self._common(), attempt=attempt, reason=reason.strip()[:500],
                will_retry=will_retry, next_attempt_at=next_attempt_at,
            )
        )  # fmt: skip

    def _check_attempt(self, attempt: int, outcome: str) -> None:
        if attempt <= self.attempts:
            raise IllegalTransition(
                self.aggregate_type,
                f"at attempt {self.attempts}",
                f"record attempt {attempt} as {outcome} (attempts are recorded once, in order)",
            )

    def _common(self) -> dict[str, Any]:
        f = self.facts
        return {
            "notification_id": f.notification_id, "channel": f.channel,
            "recipient_role": f.recipient_role, "recipient_name": f.recipient_name,
            "contact_masked": f.contact_masked, "purpose": f.purpose,
            "subject_type": f.subject_type, "subject_id": f.subject_id,
            "order_id": f.order_id, "patient_id": f.patient_id, "tier": f.tier,
            "result_id": f.result_id,
        }  # fmt: skip

    def snapshot(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "organization_id": self.organization_id,
            "status": self.status,
            "subject_id": self.subject_id,
            "attempts": self.attempts,
            "facts": asdict(self.facts),
        }

    @classmethod
    def restore(cls, snapshot: dict[str, Any], *, version: int) -> Self:
        s = snapshot
        return cls(
            facts=NotificationFacts(**s["facts"]), organization_id=s["organization_id"],
            status=s["status"], attempts=s["attempts"], version=version,
        )  # fmt: skip
