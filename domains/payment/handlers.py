"""Payment command handlers: find the order's invoice, call it, save."""

from __future__ import annotations

from domains.order.model import Order
from domains.payment.commands import (
    CancelInvoice,
    RaiseInvoice,
    RecordPayment,
    RecordPaymentFailure,
    RefundPayment,
)
from domains.payment.model import Payment
from domains.payment.tariff import Tariff
from domains.shared.clock import Clock
from domains.shared.errors import NotFound
from domains.shared.ids import new_id
from domains.shared.uow import AbstractUnitOfWork, Outcome


def raise_invoice(cmd: RaiseInvoice, uow: AbstractUnitOfWork, *, tariff: Tariff) -> Outcome:
    payments = uow.repository(Payment)
    existing = payments.find_by(cmd.organization_id, order_id=cmd.order_id)
    if existing is not None:
        return _outcome(existing)
    order = uow.repository(Order).get(cmd.organization_id, cmd.order_id)
    payment = Payment.raise_for(id=new_id(), order=order, tariff=tariff)
    payments.add(payment)
    return _outcome(payment)


def record_payment(cmd: RecordPayment, uow: AbstractUnitOfWork, *, clock: Clock) -> Outcome:
    payment = invoice_of(uow, cmd.organization_id, cmd.order_id)
    recorded = payment.receive(
        amount_paise=cmd.amount_paise, method=cmd.method, reference=cmd.reference, at=clock.now()
    )
    return {**_outcome(payment), "recorded": recorded}


def record_payment_failure(
    cmd: RecordPaymentFailure, uow: AbstractUnitOfWork, *, clock: Clock
) -> Outcome:
    payment = invoice_of(uow, cmd.organization_id, cmd.order_id)
    payment.fail(
        amount_paise=cmd.amount_paise,
        method=cmd.method,
        reason_code=cmd.reason_code,
        gateway=cmd.gateway,
        gateway_code=cmd.gateway_code,
        reference=cmd.reference,
        at=clock.now(),
    )
    return _outcome(payment)


def refund_payment(cmd: RefundPayment, uow: AbstractUnitOfWork, *, clock: Clock) -> Outcome:
    payment = invoice_of(uow, cmd.organization_id, cmd.order_id)
    payment.refund(
        amount_paise=cmd.amount_paise,
        method=cmd.method,
        reason=cmd.reason,
        reference=cmd.reference,
        at=clock.now(),
    )
    return _outcome(payment)


def cancel_invoice(cmd: CancelInvoice, uow: AbstractUnitOfWork, *, clock: Clock) -> Outcome:
    payment = invoice_of(uow, cmd.organization_id, cmd.order_id)
    order = uow.repository(Order).get(cmd.organization_id, cmd.order_id)
    payment.cancel(order, reason=cmd.reason, at=clock.now())
    return _outcome(payment)


def invoice_of(uow: AbstractUnitOfWork, organization_id: str, order_id: str) -> Payment:
    payment = uow.repository(Payment).find_by(organization_id, order_id=order_id)
    if payment is None:
        raise NotFound("Payment", f"invoice of order {order_id}")
    return payment


def _outcome(payment: Payment) -> Outcome:
    return {
        "payment_id": payment.id,
        "order_id": payment.order_id,
        "status": payment.status,
        "total_paise": payment.total_paise,
        "charged_paise": payment.charged_paise,
        "paid_paise": payment.paid_paise,
        "refunded_paise": payment.refunded_paise,
        "balance_paise": payment.balance_paise,
    }
