"""Payments (issue 12): one invoice per order priced from the tariff in integer paise, paid in
parts, failed attempts with the gateway's coded reason, refunds, cancelled with the order, an
order's balance; and a lab that collects paid orders only (STAT excepted)."""

from __future__ import annotations

from typing import Any

import pytest

from domains.order.commands import CancelOrder
from domains.payment.commands import (
    CancelInvoice,
    RaiseInvoice,
    RecordPayment,
    RecordPaymentFailure,
    RefundPayment,
)
from domains.payment.events import (
    InvoiceCancelled,
    InvoiceRaised,
    PaymentFailed,
    PaymentReceived,
    PaymentRefunded,
)
from domains.payment.model import Payment, PaymentRequired
from domains.payment.tariff import Tariff, load_tariff
from domains.sample.commands import CollectSample
from domains.shared.errors import Conflict, IllegalTransition, InvalidInput, NotFound
from domains.shared.policy import LabPolicy
from tests.unit.domains.conftest import ORG, POTASSIUM, SODIUM, order, register
from tests.unit.fakes import FakeApp

K_AND_NA = 15000 + 15000  # tariff.yaml: potassium and sodium at 150 rupees each


def invoiced(app: FakeApp, **order_fields: Any) -> str:
    order_id = order(app, register(app)["patient_id"], POTASSIUM, SODIUM, **order_fields)
    app.handle(RaiseInvoice(organization_id=ORG, order_id=order_id))
    return order_id


def pay(app: FakeApp, order_id: str, amount: int, reference: str, method: str = "upi") -> Any:
    return app.handle(
        RecordPayment(
            organization_id=ORG,
            user_id="cashier-1",
            order_id=order_id,
            amount_paise=amount,
            method=method,
            reference=reference,
        )
    )


def balance(app: FakeApp, order_id: str) -> int:
    with app.uow as uow:
        invoice = uow.repository(Payment).find_by(ORG, order_id=order_id)
    assert invoice is not None
    return invoice.balance_paise


class TestTheInvoice:
    def test_an_order_is_invoiced_from_the_tariff_in_paise(self, app: FakeApp) -> None:
        order_id = invoiced(app)
        [raised] = app.uow.events(InvoiceRaised)
        assert (raised.order_id, raised.amount_paise, raised.currency) == (
            order_id,
            K_AND_NA,
            "INR",
        )
        assert [(line.loinc_code, line.price_paise) for line in raised.lines] == [
            (POTASSIUM, 15000),
            (SODIUM, 15000),
        ]
        assert raised.tariff_version == load_tariff().version
        assert balance(app, order_id) == K_AND_NA

    def test_raising_twice_returns_the_invoice_raised(self, app: FakeApp) -> None:
        order_id = invoiced(app)
        again = app.handle(RaiseInvoice(organization_id=ORG, order_id=order_id))
        assert again["total_paise"] == K_AND_NA
        assert len(app.uow.events(InvoiceRaised)) == 1

    def test_a_test_without_a_price_is_refused_by_name(self) -> None:
        app = FakeApp(tariff=Tariff("t-1", "INR", {POTASSIUM: 100}))
        order_id = order(app, register(app)["patient_id"], POTASSIUM, SODIUM)
        with pytest.raises(InvalidInput) as err:
            app.handle(RaiseInvoice(organization_id=ORG, order_id=order_id))
        assert err.value.field == "loinc_codes"
        assert SODIUM in str(err.value)
        assert app.uow.events(InvoiceRaised) == []

    def test_a_payment_without_an_invoice_is_not_found(self, app: FakeApp) -> None:
        order_id = order(app, register(app)["patient_id"], POTASSIUM)
        with pytest.raises(NotFound):
            pay(app, order_id, 100, "pay_1")


class TestPayingIt:
    def test_partial_payments_bring_the_balance_down_to_paid(self, app: FakeApp) -> None:
        order_id = invoiced(app)
        first = pay(app, order_id, 10000, "rcpt-17", method="cash")
        assert (first["status"], first["balance_paise"]) == ("open", K_AND_NA - 10000)
        last = pay(app, order_id, K_AND_NA - 10000, "pay_Nx81", method="card")
        assert (last["status"], last["balance_paise"]) == ("paid", 0)
        assert [e.balance_paise for e in app.uow.events(PaymentReceived)] == [20000, 0]

    def test_more_than_the_balance_is_refused(self, app: FakeApp) -> None:
        order_id = invoiced(app)
        with pytest.raises(InvalidInput) as err:
            pay(app, order_id, K_AND_NA + 1, "pay_over")
        assert err.value.field == "amount_paise"

    @pytest.mark.parametrize(
        ("amount", "method", "field"),
        [
            (0, "upi", "amount_paise"),
            (-100, "upi", "amount_paise"),
            (True, "upi", "amount_paise"),
            (100, "cheque", "method"),
        ],
    )
    def test_bad_amounts_and_methods_are_refused_by_name(
        self, app: FakeApp, amount: int, method: str, field: str
    ) -> None:
        order_id = invoiced(app)
        with pytest.raises(InvalidInput) as err:
            pay(app, order_id, amount, "pay_x", method=method)
        assert err.value.field == field
        assert app.uow.events(PaymentReceived) == []

    def test_a_gateway_resending_one_payment_records_it_once(self, app: FakeApp) -> None:
        order_id = invoiced(app)
        pay(app, order_id, 5000, "pay_A1")
        again = pay(app, order_id, 5000, "pay_A1")
        assert again["recorded"] is False
        assert len(app.uow.events(PaymentReceived)) == 1
        with pytest.raises(Conflict):
            pay(app, order_id, 7000, "pay_A1")

    def test_a_failed_attempt_keeps_the_gateways_coded_reason(self, app: FakeApp) -> None:
        order_id = invoiced(app)
        app.handle(
            RecordPaymentFailure(
                organization_id=ORG,
                order_id=order_id,
                amount_paise=K_AND_NA,
                method="card",
                reason_code="insufficient_funds",
                gateway="razorpay",
                gateway_code="BAD_REQUEST_ERROR",
                reference="pay_F9",
            )
        )
        [failed] = app.uow.events(PaymentFailed)
        assert (failed.reason, failed.gateway, failed.gateway_code) == (
            "insufficient_funds",
            "razorpay",
            "BAD_REQUEST_ERROR",
        )
        assert balance(app, order_id) == K_AND_NA  # nothing was paid

    def test_a_failure_needs_one_of_our_codes(self, app: FakeApp) -> None:
        order_id = invoiced(app)
        with pytest.raises(InvalidInput) as err:
            app.handle(
                RecordPaymentFailure(
                    organization_id=ORG,
                    order_id=order_id,
                    amount_paise=100,
                    method="upi",
                    reason_code="because",
                )
            )
        assert err.value.field == "reason_code"


class TestRefundsAndCancellation:
    def test_a_refund_is_a_credit_note_and_cannot_exceed_what_was_paid(self, app: FakeApp) -> None:
        order_id = invoiced(app)
        pay(app, order_id, K_AND_NA, "pay_1")
        refund = RefundPayment(
            organization_id=ORG,
            order_id=order_id,
            amount_paise=15000,
            reason="sodium not done: sample insufficient",
            reference="rfnd_1",
        )
        outcome = app.handle(refund)
        assert (outcome["status"], outcome["charged_paise"], outcome["balance_paise"]) == (
            "paid",
            K_AND_NA - 15000,
            0,
        )
        [refunded] = app.uow.events(PaymentRefunded)
        assert (refunded.balance_paise, refunded.charged_paise) == (0, K_AND_NA - 15000)
        with pytest.raises(InvalidInput):
            app.handle(
                RefundPayment(**{**refund.__dict__, "amount_paise": 15001, "command_id": "r2"})
            )

    def test_a_refund_of_part_of_an_advance_leaves_the_rest_due(self, app: FakeApp) -> None:
        order_id = invoiced(app)
        pay(app, order_id, 10000, "rcpt-1", method="cash")
        app.handle(
            RefundPayment(
                organization_id=ORG,
                order_id=order_id,
                amount_paise=5000,
                reason="discount",
                reference="rfnd_3",
            )
        )
        assert balance(app, order_id) == K_AND_NA - 5000 - 5000

    def test_a_cancelled_order_charges_nothing_and_owes_back_what_was_paid(
        self, app: FakeApp
    ) -> None:
        order_id = invoiced(app)
        pay(app, order_id, 10000, "pay_1")
        with pytest.raises(IllegalTransition):  # the order still stands
            app.handle(CancelInvoice(organization_id=ORG, order_id=order_id, reason="x"))
        app.handle(CancelOrder(organization_id=ORG, order_id=order_id, reason="patient left"))
        app.handle(CancelInvoice(organization_id=ORG, order_id=order_id, reason="order cancelled"))
        assert app.uow.events(InvoiceCancelled)[0].refund_due_paise == 10000
        assert balance(app, order_id) == -10000
        with pytest.raises(IllegalTransition):
            pay(app, order_id, 100, "pay_2")
        app.handle(
            RefundPayment(
                organization_id=ORG,
                order_id=order_id,
                amount_paise=10000,
                reason="order cancelled",
                reference="rfnd_2",
            )
        )
        assert balance(app, order_id) == 0

    def test_a_cancelled_order_is_not_invoiced(self, app: FakeApp) -> None:
        order_id = order(app, register(app)["patient_id"], POTASSIUM)
        app.handle(CancelOrder(organization_id=ORG, order_id=order_id, reason="duplicate"))
        with pytest.raises(IllegalTransition):
            app.handle(RaiseInvoice(organization_id=ORG, order_id=order_id))


class TestCollectingUnpaidOrders:
    def collect(self, app: FakeApp, order_id: str) -> Any:
        return app.handle(
            CollectSample(organization_id=ORG, order_id=order_id, specimen_type="serum")
        )

    def test_by_default_an_unpaid_order_is_collected(self, app: FakeApp) -> None:
        order_id = invoiced(app)
        assert self.collect(app, order_id)["sample_id"]

    def test_a_lab_that_collects_paid_orders_only_refuses_an_unpaid_one(self) -> None:
        app = FakeApp(policy=LabPolicy(collection_requires_payment=True))
        order_id = invoiced(app)
        pay(app, order_id, 100, "pay_part")
        with pytest.raises(PaymentRequired, match="not paid in full"):
            self.collect(app, order_id)
        pay(app, order_id, K_AND_NA - 100, "pay_rest")
        assert self.collect(app, order_id)["sample_id"]

    def test_such_a_lab_refuses_an_order_never_invoiced(self) -> None:
        app = FakeApp(policy=LabPolicy(collection_requires_payment=True))
        order_id = order(app, register(app)["patient_id"], POTASSIUM)
        with pytest.raises(PaymentRequired, match="no invoice"):
            self.collect(app, order_id)

    def test_a_stat_order_is_collected_paid_or_not(self) -> None:
        app = FakeApp(policy=LabPolicy(collection_requires_payment=True))
        order_id = order(app, register(app)["patient_id"], POTASSIUM, priority="stat")
        assert self.collect(app, order_id)["sample_id"]
