"""Payments on real Postgres (issue 12): the invoice row, its events in the outbox on the
payment topic, and one invoice per order even when two raises race."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from sqlalchemy import Engine

from domains.payment.commands import RaiseInvoice, RecordPayment, RefundPayment
from domains.shared.bus import MessageBus
from domains.shared.errors import Conflict
from domains.shared.uow import AbstractUnitOfWork, Outcome
from infra.config.settings import Settings
from tests.integration.db.test_persistence_consistency import (
    ORG,
    sample_on_confirmed_order,
    scalar,
)

pytestmark = pytest.mark.integration


def test_an_invoice_paid_in_parts_and_refunded_is_stored_and_published(
    bus: MessageBus, engine: Engine, settings: Settings
) -> None:
    order_id = sample_on_confirmed_order(bus)["order_id"]
    raised = bus.handle(RaiseInvoice(organization_id=ORG, order_id=order_id))
    assert raised["total_paise"] == 15000
    for amount, ref in ((5000, "rcpt-1"), (10000, "pay_2")):
        bus.handle(
            RecordPayment(
                organization_id=ORG,
                order_id=order_id,
                amount_paise=amount,
                method="upi",
                reference=ref,
            )
        )
    bus.handle(
        RefundPayment(
            organization_id=ORG,
            order_id=order_id,
            amount_paise=5000,
            reason="discount for a senior citizen",
            reference="rfnd-1",
        )
    )
    row = "SELECT status || ' ' || (data->>'balance_paise') FROM payments WHERE order_id = :o"
    assert scalar(engine, row, o=order_id) == "paid 0"  # the refund was a credit note
    charged = "SELECT (data->'movements'->-1->>'credit_note') FROM payments WHERE order_id = :o"
    assert scalar(engine, charged, o=order_id) == "true"
    types = "SELECT string_agg(event_type, ',' ORDER BY aggregate_version) FROM outbox "
    types += "WHERE aggregate_type = 'Payment'"
    assert scalar(engine, types) == (
        "INVOICE_RAISED,PAYMENT_RECEIVED,PAYMENT_RECEIVED,PAYMENT_REFUNDED"
    )
    topic = "SELECT DISTINCT topic FROM outbox WHERE aggregate_type = 'Payment'"
    assert scalar(engine, topic) == f"{settings.topic_namespace}.payment.events"


def test_two_invoices_raised_at_once_for_one_order_store_one(
    bus: MessageBus, engine: Engine
) -> None:
    order_id = sample_on_confirmed_order(bus)["order_id"]
    both_looked = threading.Barrier(2)
    inner = bus.handlers[RaiseInvoice]

    def look_then_wait(command: Any, uow: AbstractUnitOfWork) -> Outcome:
        outcome = inner(command, uow)
        both_looked.wait(timeout=20)
        return outcome

    racing = MessageBus(bus.uow_factory, {**bus.handlers, RaiseInvoice: look_then_wait})
    with ThreadPoolExecutor(2) as pool:
        futures = [
            pool.submit(racing.handle, RaiseInvoice(organization_id=ORG, order_id=order_id))
            for _ in range(2)
        ]
        errors = [f.exception(timeout=30) for f in futures]
    (conflict,) = [e for e in errors if e is not None]
    assert isinstance(conflict, Conflict)
    assert "order_id" in str(conflict)
    assert scalar(engine, "SELECT count(*) FROM payments") == 1
