"""A visit's bill (issue 12): the invoice raised when the order is confirmed, paid as planned
(``VisitPlan.payment``; None: the visit has no billing, as in older plans)."""

from __future__ import annotations

from domains.payment.commands import (
    RaiseInvoice,
    RecordPayment,
    RecordPaymentFailure,
    RefundPayment,
)
from infra.simulation.context import VisitContext

GATEWAY_FAILURES = [  # (our reason code, what the gateway said)
    ("insufficient_funds", "BAD_REQUEST_ERROR"),
    ("card_declined", "BAD_REQUEST_ERROR"),
    ("authentication_failed", "BAD_REQUEST_ERROR"),
    ("bank_unavailable", "GATEWAY_ERROR"),
]


def _reference(visit: VisitContext, prefix: str) -> str:
    return f"{prefix}_{visit.rng.getrandbits(48):012x}"


def _pay(visit: VisitContext, order_id: str, amount: int, method: str) -> None:
    visit.send(
        RecordPayment,
        visit.staff.desk,
        order_id=order_id,
        amount_paise=amount,
        method=method,
        reference=_reference(visit, "pay" if method != "cash" else "rcpt"),
    )


def before_collection(visit: VisitContext, order_id: str) -> None:
    plan = visit.plan.payment
    if plan is None:
        return
    total = int(visit.send(RaiseInvoice, visit.staff.desk, order_id=order_id)["total_paise"])
    if plan == "card_failed_then_upi":
        reason, code = visit.rng.choice(GATEWAY_FAILURES)
        visit.send(
            RecordPaymentFailure,
            visit.staff.desk,
            order_id=order_id,
            amount_paise=total,
            method="card",
            reason_code=reason,
            gateway="razorpay",
            gateway_code=code,
            reference=_reference(visit, "pay"),
        )
        _pay(visit, order_id, total, "upi")
    elif plan == "advance":
        _pay(visit, order_id, total // 200 * 100, "cash")  # half, in whole rupees
    else:
        _pay(visit, order_id, total, "card" if plan == "refund" else "upi")


def after_report(visit: VisitContext, order_id: str) -> None:
    """The balance at report pick-up, or a discount refunded (a credit note) once paid."""
    plan = visit.plan.payment
    if plan == "advance":
        outcome = visit.send(RaiseInvoice, visit.staff.desk, order_id=order_id)
        _pay(visit, order_id, int(outcome["balance_paise"]), "upi")
    elif plan == "refund":
        total = int(visit.send(RaiseInvoice, visit.staff.desk, order_id=order_id)["total_paise"])
        visit.send(
            RefundPayment,
            visit.staff.desk,
            order_id=order_id,
            amount_paise=total // 1000 * 100,  # 10 %, in whole rupees
            reason="senior citizen discount, granted after payment",
            reference=_reference(visit, "rfnd"),
        )
