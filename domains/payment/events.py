"""Payment events (topic ``lis.payment.events``). Amounts are integer paise: no float money.

One Payment aggregate per order (its invoice and what was paid against it): raised from the
tariff, paid in parts, failed attempts with the gateway's coded reason, refunds, cancelled with
the order. ``balance_paise`` is what the patient still owes after the event (negative: what
the lab owes back)."""

from __future__ import annotations

from dataclasses import dataclass, field

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
    balance_paise: int | None = None


@dataclass(frozen=True, kw_only=True)
class PaymentFailed(Event):
    event_type = "PAYMENT_FAILED"
    aggregate_type = "Payment"

    payment_id: str
    order_id: str
    amount_paise: int
    currency: str
    method: str
    reason: str  # coded: insufficient_funds | card_declined | ... (domains.payment.model)
    reference: str | None = None
    patient_id: str | None = None
    gateway: str | None = None  # e.g. razorpay, payu
    gateway_code: str | None = None  # the gateway's own error code, as it sent it


@dataclass(frozen=True, kw_only=True)
class InvoiceLine:
    loinc_code: str
    test_name: str
    price_paise: int


@dataclass(frozen=True, kw_only=True)
class InvoiceRaised(Event):
    event_type = "INVOICE_RAISED"
    aggregate_type = "Payment"

    payment_id: str
    order_id: str
    patient_id: str
    amount_paise: int  # the sum of the lines
    currency: str
    tariff_version: str
    lines: list[InvoiceLine] = field(default_factory=list)


@dataclass(frozen=True, kw_only=True)
class PaymentRefunded(Event):
    """Money back: a credit note while the order stands (the charge goes down as much),
    or what is owed back after it was cancelled."""

    event_type = "PAYMENT_REFUNDED"
    aggregate_type = "Payment"

    payment_id: str
    order_id: str
    amount_paise: int
    currency: str
    method: str
    reference: str
    reason: str
    balance_paise: int
    patient_id: str | None = None
    charged_paise: int | None = None  # what the patient is charged after it


@dataclass(frozen=True, kw_only=True)
class InvoiceCancelled(Event):
    """The order was cancelled: nothing is charged any more; what was paid is owed back."""

    event_type = "INVOICE_CANCELLED"
    aggregate_type = "Payment"

    payment_id: str
    order_id: str
    reason: str
    refund_due_paise: int
    patient_id: str | None = None
