"""Issue 12 (part A) through the command bus: what RESULT_ENTERED / RESULT_AMENDED /
RESULT_VERIFIED / CRITICAL_VALUE_DETECTED and the report carry about how a value was read."""

from __future__ import annotations

from datetime import date

from domains.catalog.model import Catalog
from domains.order.commands import CompleteOrder
from domains.report.commands import GenerateReport
from domains.report.events import ReportGenerated
from domains.report.model import Report
from domains.result.commands import AmendResult, VerifyResult
from domains.result.events import (
    CriticalValueDetected,
    ResultAmended,
    ResultEntered,
    ResultVerified,
)
from domains.result.model import Result
from tests.unit.domains.conftest import ORG, POTASSIUM, result
from tests.unit.fakes import FakeApp, shared_catalog

BILIRUBIN = "1975-2"


def ten_day_old(app: FakeApp) -> date:
    return app.clock.today().replace(day=5)  # the clock is at 2024-06-15


def switch_catalog(app: FakeApp, version: str) -> Catalog:
    """The lab loads a new catalog version (same tests); the store keeps the old results."""
    catalog = Catalog(version, list(shared_catalog()), shared_catalog().sources)
    app.use_catalog(catalog)
    return catalog


def test_a_censored_critical_potassium_keeps_its_comparator_and_is_called(app: FakeApp) -> None:
    result(app, value=">6.2")
    [entered] = app.uow.events(ResultEntered)
    assert (entered.value_text, entered.value, entered.comparator) == (">6.2", 6.2, ">")
    assert (entered.flag, entered.is_critical) == ("HH", True)
    [critical] = app.uow.events(CriticalValueDetected)
    assert critical.value_text == ">6.2"


def test_a_result_without_an_applicable_range_says_so_instead_of_n(app: FakeApp) -> None:
    result(
        app,
        code=BILIRUBIN,
        value="9.0",
        unit="mg/dL",
        date_of_birth=ten_day_old(app),
    )
    [entered] = app.uow.events(ResultEntered)
    assert (entered.flag, entered.needs_review, entered.reference_text) == ("", True, None)
    assert entered.interpretation_note is not None
    assert "AAP 2022" in entered.interpretation_note


def test_a_newborns_critical_limits_travel_with_the_critical_event(app: FakeApp) -> None:
    result(app, value="8.0", date_of_birth=ten_day_old(app))
    [entered] = app.uow.events(ResultEntered)
    [critical] = app.uow.events(CriticalValueDetected)
    assert (entered.critical_high, critical.critical_high) == (7.8, 7.8)
    assert entered.reference_band == "any 0d-1m (tietz-k)"


def test_an_amendment_is_stamped_with_the_catalog_it_was_read_against(app: FakeApp) -> None:
    flow = result(app, value="4.2", verify=True)
    first = app.catalog.version
    switch_catalog(app, "2099.01-test")
    app.handle(
        AmendResult(
            organization_id=ORG,
            user_id="path-1",
            result_id=flow["result_id"],
            value_text="5.6",
            unit="mmol/L",
            reason="re-run",
        )
    )
    [amended] = app.uow.events(ResultAmended)
    assert amended.catalog_version == "2099.01-test"
    assert (amended.reference_text, amended.reference_low, amended.reference_high) == (
        "3.5-5.1",
        3.5,
        5.1,
    )
    stored = app.load(Result, flow["result_id"])
    assert stored.catalog_version == "2099.01-test"
    assert stored.amendments[0]["previous_catalog_version"] == first


def test_a_verification_carries_the_catalog_version_and_interval(app: FakeApp) -> None:
    result(app, value="<2.8", verify=True)
    [verified] = app.uow.events(ResultVerified)
    assert (verified.catalog_version, verified.reference_text) == (app.catalog.version, "3.5-5.1")
    assert (verified.flag, verified.comparator) == ("LL", "<")


def test_the_report_stamps_each_lines_catalog_version_and_prints_why_it_has_no_flag(
    app: FakeApp,
) -> None:
    flow = result(
        app,
        code=BILIRUBIN,
        value="9.0",
        unit="mg/dL",
        date_of_birth=ten_day_old(app),
    )
    app.handle(VerifyResult(organization_id=ORG, user_id="path-1", result_id=flow["result_id"]))
    app.handle(CompleteOrder(organization_id=ORG, order_id=flow["order_id"]))
    app.handle(GenerateReport(organization_id=ORG, user_id="path-1", order_id=flow["order_id"]))
    [generated] = app.uow.events(ReportGenerated)
    [line] = generated.lines
    assert (line.flag, line.catalog_version) == ("", app.catalog.version)
    assert line.interpretation_note is not None
    assert "AAP 2022" in line.interpretation_note
    text = app.load(Report, generated.report_id).current.document_text
    assert "--" in text
    assert "AAP 2022" in text
    assert f"test catalog {app.catalog.version}" in text


def test_an_old_result_snapshot_without_the_new_fields_still_loads(app: FakeApp) -> None:
    flow = result(app, value="4.2")
    stored = app.load(Result, flow["result_id"])
    snapshot = stored.snapshot()
    for key in ("comparator", "critical_low", "critical_high", "note", "needs_review"):
        snapshot.pop(key)
    restored = Result.restore(snapshot, version=stored.version)
    assert restored.reading.comparator is None
    assert restored.interpretation.flag == "N"
    assert restored.loinc_code == POTASSIUM
