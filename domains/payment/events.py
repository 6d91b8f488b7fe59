"""Payment events (topic ``lis.payment.events``). Amounts are integer paise: no float money."""

from __future__ import annotations

from dataclasses import dataclass

from domains.shared.messages import Event


@dataclass(frozen=True, kw_only=True)
class PaymentReceived(Event):
    event_type = "PAYMENT_RECEIVED"
    aggregate_type = "Payment"

    payment_id: str
    order_id: str
    amount_paise: int
    currency: str  # ISO 4217, "INR"
    method: str  # cash | card | upi | netbanking | insurance
    reference: str  # gateway / receipt reference
    patient_id: str | None = None


@dataclass(frozen=True, kw_only=True)
class PaymentFailed(Event):
    event_type = "PAYMENT_FAILED"
    aggregate_type = "Payment"

    payment_id: str
    order_id: str
    amount_paise: int
    currency: str
    method: str
    reason: str
    reference: str | None = None
    patient_id: str | None = None
