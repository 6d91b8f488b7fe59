"""Payment commands: one invoice per order, paid against in parts."""

from __future__ import annotations

from dataclasses import dataclass

from domains.shared.messages import Command


@dataclass(frozen=True, kw_only=True)
class RaiseInvoice(Command):
    """Price the order's tests from the tariff. Raising twice returns the invoice raised."""

    order_id: str


@dataclass(frozen=True, kw_only=True)
class RecordPayment(Command):
    """Money received: all of the balance or a part of it. A gateway re-sending the same
    reference for the same amount is the same payment."""

    order_id: str
    amount_paise: int
    method: str  # cash | card | upi | netbanking | insurance
    reference: str  # the gateway's payment id, or the cash receipt number


@dataclass(frozen=True, kw_only=True)
class RecordPaymentFailure(Command):
    order_id: str
    amount_paise: int
    method: str
    reason_code: str  # our code (domains.payment.model.FAILURE_REASONS)
    gateway: str | None = None
    gateway_code: str | None = None  # the gateway's code, kept as sent
    reference: str | None = None


@dataclass(frozen=True, kw_only=True)
class RefundPayment(Command):
    order_id: str
    amount_paise: int
    reason: str
    reference: str  # the refund's gateway id or voucher number
    method: str = "original"  # back the way it came, or cash | upi | ...


@dataclass(frozen=True, kw_only=True)
class CancelInvoice(Command):
    """After the order was cancelled: nothing is charged; what was paid is to be refunded."""

    order_id: str
    reason: str
