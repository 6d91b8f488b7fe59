"""Order commands."""

from __future__ import annotations

from dataclasses import dataclass, field

from domains.shared.messages import Command


@dataclass(frozen=True, kw_only=True)
class PlaceOrder(Command):
    """Re-sending the same placer order number returns the order already placed."""

    patient_id: str
    placer_order_number: str  # the ordering system's (HIS/EMR) own order number
    loinc_codes: list[str] = field(default_factory=list)
    priority: str = "routine"  # routine | urgent | stat
    ordering_clinician_name: str = ""
    # mobile or email, for critical calls; personal data, so not in the repr
    ordering_clinician_contact: str | None = field(default=None, repr=False)
    clinical_notes: str | None = None
    # the provider directory's id of the ordering clinician: critical value calls find their
    # contact details there (never on Kafka); the name and contact above stay as given
    ordering_provider_id: str | None = None


@dataclass(frozen=True, kw_only=True)
class ConfirmOrder(Command):
    order_id: str


@dataclass(frozen=True, kw_only=True)
class CancelOrder(Command):
    order_id: str
    reason: str


@dataclass(frozen=True, kw_only=True)
class CompleteOrder(Command):
    order_id: str
