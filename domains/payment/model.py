"""Payment aggregate: one order's invoice and the money moved against it, in integer paise.

Priced from the tariff when raised (lines stay as priced: a later tariff does not change an
invoice); paid in one go or in parts; failed attempts kept with the gateway's coded reason;
refunds (credit notes while the order stands); cancelled with the order (nothing charged, what
was paid owed back). The balance is always derived from the money moved, never stored apart.
"""

from __future__ import annotations

from dataclasses import asdict
from datetime import datetime
from typing import Any, ClassVar, Self

from domains.order.model import Order
from domains.payment import events as ev
from domains.payment.tariff import Tariff
from domains.shared.aggregate import Aggregate, Transitions
from domains.shared.errors import Conflict, IllegalTransition, InvalidInput

METHODS = ("cash", "card", "upi", "netbanking", "insurance")
REFUND_METHODS = ("original", *METHODS)
FAILURE_REASONS = (
    "insufficient_funds",
    "card_declined",
    "expired_card",
    "authentication_failed",  # OTP / 3-D Secure / UPI PIN
    "limit_exceeded",
    "upi_timeout",
    "upi_declined",
    "bank_unavailable",
    "gateway_error",
    "network_error",
    "cancelled_by_payer",
    "suspected_fraud",
)
MAX_PAISE = 10**11  # a billion rupees: anything above is a typo, not a lab bill


class PaymentRequired(Conflict):
    """The lab collects only paid orders (LabPolicy.collection_requires_payment) and this one
    is not paid in full (HTTP 409)."""

    code = "payment_required"


def _amount(value: object, field: str) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or not 0 < value <= MAX_PAISE:
        raise InvalidInput(field, "must be a whole number of paise above 0")
    return value


def _text(value: str | None, field: str, max_length: int = 128) -> str:
    text = (value or "").strip()
    if not text or len(text) > max_length:
        raise InvalidInput(field, f"is required (at most {max_length} characters)")
    return text


class Payment(Aggregate):
    aggregate_type = "Payment"
    lookup_fields = ("order_id", "patient_id")
    transitions: ClassVar[Transitions] = {
        "open": frozenset({"open", "paid", "cancelled"}),
        "paid": frozenset({"paid", "cancelled"}),
        "cancelled": frozenset({"cancelled"}),  # only refunds of what was paid
    }

    def __init__(
        self,
        *,
        id: str,
        organization_id: str,
        order_id: str,
        patient_id: str,
        currency: str,
        tariff_version: str,
        lines: list[dict[str, Any]],
        movements: list[dict[str, Any]] | None = None,
        status: str = "open",
        version: int = 0,
    ) -> None:
        super().__init__(id=id, organization_id=organization_id, status=status, version=version)
        self.order_id = order_id
        self.patient_id = patient_id
        self.currency = currency
        self.tariff_version = tariff_version
        self.lines = lines  # {loinc_code, test_name, price_paise}
        # {kind: received|failed|refunded|cancelled, amount_paise, method, reference, at, ...}
        self.movements = movements or []

    # -- the money ----------------------------------------------------------------------------

    @property
    def total_paise(self) -> int:
        return sum(int(line["price_paise"]) for line in self.lines)

    def _sum(self, kind: str) -> int:
        return sum(int(m["amount_paise"]) for m in self.movements if m["kind"] == kind)

    @property
    def paid_paise(self) -> int:
        return self._sum("received")

    @property
    def refunded_paise(self) -> int:
        return self._sum("refunded")

    @property
    def charged_paise(self) -> int:
        """What the patient is charged: nothing once the order is cancelled; else the total
        less every refund made as a credit note (a discount, a test not done)."""
        if self.status == "cancelled":
            return 0
        credited = sum(
            int(m["amount_paise"]) for m in self.movements if m.get("credit_note", False)
        )
        return self.total_paise - credited

    @property
    def balance_paise(self) -> int:
        """What the patient still owes (negative: what the lab owes back)."""
        return self.charged_paise - (self.paid_paise - self.refunded_paise)

    # -- commands -----------------------------------------------------------------------------

    @classmethod
    def raise_for(cls, *, id: str, order: Order, tariff: Tariff) -> Payment:
        order.check_not_cancelled("be invoiced")
        priced = [
            ev.InvoiceLine(
                loinc_code=t.loinc_code,
                test_name=t.name,
                price_paise=tariff.price(t.loinc_code, t.name),
            )
            for t in order.tests
        ]
        lines: list[dict[str, Any]] = [asdict(line) for line in priced]
        payment = cls(
            id=id,
            organization_id=order.organization_id,
            order_id=order.id,
            patient_id=order.patient_id,
            currency=tariff.currency,
            tariff_version=tariff.version,
            lines=lines,
        )
        payment._record(
            ev.InvoiceRaised(
                payment_id=id,
                order_id=order.id,
                patient_id=order.patient_id,
                amount_paise=payment.total_paise,
                currency=tariff.currency,
                tariff_version=tariff.version,
                lines=priced,
            )
        )
        return payment

    def receive(self, *, amount_paise: int, method: str, reference: str, at: datetime) -> bool:
        """Record money received; False when it is a gateway's resend of one already recorded."""
        amount = _amount(amount_paise, "amount_paise")
        if method not in METHODS:
            raise InvalidInput("method", f"must be one of {', '.join(METHODS)}")
        ref = _text(reference, "reference")
        for earlier in self.movements:
            if earlier["kind"] == "received" and earlier["reference"] == ref:
                if earlier["amount_paise"] != amount or earlier["method"] != method:
                    raise Conflict(f"payment reference {ref} was recorded with another amount")
                return False
        self._check_can_move_to("paid", "take a payment")
        if amount > self.balance_paise:
            raise InvalidInput(
                "amount_paise",
                f"exceeds the balance of {self.balance_paise} paise (no overpayment)",
            )
        self._move({"kind": "received", "amount_paise": amount, "method": method,
                    "reference": ref, "at": at.isoformat()})  # fmt: skip
        self._record(
            ev.PaymentReceived(
                payment_id=self.id,
                order_id=self.order_id,
                amount_paise=amount,
                currency=self.currency,
                method=method,
                reference=ref,
                patient_id=self.patient_id,
                balance_paise=self.balance_paise,
            )
        )
        return True

    def fail(
        self,
        *,
        amount_paise: int,
        method: str,
        reason_code: str,
        gateway: str | None,
        gateway_code: str | None,
        reference: str | None,
        at: datetime,
    ) -> None:
        amount = _amount(amount_paise, "amount_paise")
        if method not in METHODS or method == "cash":
            raise InvalidInput(
                "method", "a failed attempt is by card, upi, netbanking or insurance"
            )
        if reason_code not in FAILURE_REASONS:
            raise InvalidInput("reason_code", f"must be one of {', '.join(FAILURE_REASONS)}")
        if self.status != "open" or self.balance_paise <= 0:
            raise IllegalTransition(self.aggregate_type, self.status, "record a failed payment")
        self.movements.append(
            {"kind": "failed", "amount_paise": amount, "method": method, "reason": reason_code,
             "gateway": gateway, "gateway_code": gateway_code, "reference": reference,
             "at": at.isoformat()}
        )  # fmt: skip
        self._record(
            ev.PaymentFailed(
                payment_id=self.id,
                order_id=self.order_id,
                amount_paise=amount,
                currency=self.currency,
                method=method,
                reason=reason_code,
                reference=reference,
                patient_id=self.patient_id,
                gateway=gateway,
                gateway_code=gateway_code,
            )
        )

    def refund(
        self, *, amount_paise: int, method: str, reason: str, reference: str, at: datetime
    ) -> None:
        """Money back to the patient. While the order stands it is a credit note (the charge
        goes down by as much: a discount, a test not done), so the balance does not move; once
        the order is cancelled it pays back what is owed."""
        amount = _amount(amount_paise, "amount_paise")
        if method not in REFUND_METHODS:
            raise InvalidInput("method", f"must be one of {', '.join(REFUND_METHODS)}")
        why, ref = _text(reason, "reason", 500), _text(reference, "reference")
        refundable = self.paid_paise - self.refunded_paise
        if amount > refundable:
            raise InvalidInput(
                "amount_paise", f"exceeds the {refundable} paise paid and not yet refunded"
            )
        self._move({"kind": "refunded", "amount_paise": amount, "method": method,
                    "reference": ref, "reason": why, "at": at.isoformat(),
                    "credit_note": self.status != "cancelled"})  # fmt: skip
        self._record(
            ev.PaymentRefunded(
                payment_id=self.id,
                order_id=self.order_id,
                amount_paise=amount,
                currency=self.currency,
                method=method,
                reference=ref,
                reason=why,
                balance_paise=self.balance_paise,
                patient_id=self.patient_id,
                charged_paise=self.charged_paise,
            )
        )

    def cancel(self, order: Order, *, reason: str, at: datetime) -> None:
        why = _text(reason, "reason", 500)
        if order.status != "cancelled":
            raise IllegalTransition(
                self.aggregate_type, self.status, "be cancelled while its order stands"
            )
        if self.status == "cancelled":
            raise IllegalTransition(self.aggregate_type, self.status, "be cancelled")
        self._move_to("cancelled", "be cancelled")
        self.movements.append(
            {"kind": "cancelled", "amount_paise": 0, "reason": why, "at": at.isoformat()}
        )
        self._record(
            ev.InvoiceCancelled(
                payment_id=self.id,
                order_id=self.order_id,
                reason=why,
                refund_due_paise=-self.balance_paise,
                patient_id=self.patient_id,
            )
        )

    def check_allows_collection(self) -> None:
        if self.balance_paise > 0:
            raise PaymentRequired(
                f"order is not paid in full ({self.balance_paise} paise due); this lab collects "
                "paid orders only (STAT orders excepted)"
            )

    def _move(self, movement: dict[str, Any]) -> None:
        """Add a movement of money; the status follows the balance (cancelled stays so)."""
        self.movements.append(movement)
        if self.status != "cancelled":
            self._move_to("paid" if self.balance_paise <= 0 else "open", "move money")

    # -- persistence --------------------------------------------------------------------------

    def snapshot(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "organization_id": self.organization_id,
            "status": self.status,
            "order_id": self.order_id,
            "patient_id": self.patient_id,
            "currency": self.currency,
            "tariff_version": self.tariff_version,
            "lines": [dict(line) for line in self.lines],
            "movements": [dict(m) for m in self.movements],
            "balance_paise": self.balance_paise,  # for readers of the row; derived on load
        }

    @classmethod
    def restore(cls, snapshot: dict[str, Any], *, version: int) -> Self:
        s = {k: v for k, v in snapshot.items() if k != "balance_paise"}
        return cls(**s, version=version)


def check_paid_for_collection(order: Order, invoice: Payment | None) -> None:
    """For a lab that collects paid orders only. A STAT order is collected regardless: a
    bill must never hold back an emergency specimen."""
    if order.priority == "stat":
        return
    if invoice is None:
        raise PaymentRequired(
            f"order {order.placer_order_number} has no invoice yet; this lab collects paid "
            "orders only (STAT orders excepted)"
        )
    invoice.check_allows_collection()
