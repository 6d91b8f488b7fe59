"""A simulated day shows issue 12 (on fakes): a released report superseded by an amended version
that is signed and delivered again, a withdrawn result, and every visit's bill."""

from __future__ import annotations

from collections import Counter

from domains.payment.model import Payment
from domains.report.events import ReportDelivered, ReportGenerated, ReportSigned
from domains.result.events import ResultAmended, ResultInvalidated
from infra.simulation.day import run_day
from infra.simulation.mishaps import PAYMENT_PLANS
from tests.unit.processor_pump import PumpedApp


def test_a_simulated_day_amends_withdraws_and_bills() -> None:
    app = PumpedApp()  # the processors complete, report and deliver, as on the stack
    day = run_day(
        app.pumped_bus(), app.catalog, organization_id="org-1", patients=5, seed=12,
        today=app.clock.today(), concurrency=1,
    )  # fmt: skip
    types = Counter(app.uow.event_types())

    # a result amended after sign-off: its report superseded, the new version signed and sent
    assert app.uow.events(ResultAmended)
    amended_versions = [g for g in app.uow.events(ReportGenerated) if g.report_version > 1]
    assert amended_versions
    for version in amended_versions:
        out = [
            (e.report_id, e.report_version)
            for e in app.uow.events(ReportSigned) + app.uow.events(ReportDelivered)
        ]
        assert (version.report_id, version.report_version) in out
    # a result withdrawn, and the amended report says so without its value
    [withdrawn] = app.uow.events(ResultInvalidated)
    assert any(
        line.result_id == withdrawn.result_id and line.withdrawn_reason and not line.value_text
        for g in app.uow.events(ReportGenerated)
        for line in g.lines
    )
    # every visit billed; every kind of payment happened; every bill settled by the day's end
    assert types["INVOICE_RAISED"] == day.visits == 5
    for kind in ("PAYMENT_RECEIVED", "PAYMENT_FAILED", "PAYMENT_REFUNDED"):
        assert types[kind] >= 1, kind
    assert len(PAYMENT_PLANS) <= day.visits
    with app.uow as uow:
        bills = uow.repository(Payment).list_by("org-1")
    assert [b.balance_paise for b in bills] == [0] * 5
    assert {b.status for b in bills} == {"paid"}


def test_the_same_seed_on_the_same_database_finds_the_returning_patients() -> None:
    app = PumpedApp()
    for _ in range(2):
        run_day(
            app.pumped_bus(),
            app.catalog,
            organization_id="org-1",
            patients=2,
            seed=5,
            today=app.clock.today(),
            concurrency=1,
        )
    assert Counter(app.uow.event_types())["PATIENT_CREATED"] == 2
    assert Counter(app.uow.event_types())["ORDER_CREATED"] == 4
