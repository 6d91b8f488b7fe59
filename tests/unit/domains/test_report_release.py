"""When a report may go out (issue 12): never a version made before one of its results changed
(defect 2), never with a critical value whose read-back call is undocumented, and then it
prints the call (defect 3); what it prints about the lab, the specimens and the verifiers
(ISO 15189 §7.4.1.6)."""

from __future__ import annotations

import pytest

from domains.order.commands import CancelOrder, CompleteOrder
from domains.order.model import Order
from domains.report.commands import (
    AmendReport,
    DeliverReport,
    GenerateReport,
    Recipient,
    SignReport,
)
from domains.report.events import ReportDelivered, ReportGenerated, ReportSigned
from domains.report.model import Report
from domains.result.commands import AcknowledgeCriticalValue, AmendResult, VerifyResult
from domains.shared.errors import Conflict
from domains.shared.policy import LabPolicy
from tests.unit.domains.conftest import ORG, result
from tests.unit.fakes import FakeApp

PORTAL = [Recipient(role="ordering_clinician", name="Dr. Rao", channel="portal")]


def completed(app: FakeApp, value: str = "4.2", **patient: object) -> dict[str, str]:
    return result(app, value=value, verify=True, **patient)


def generate(app: FakeApp, order_id: str) -> str:
    if app.load(Order, order_id).status != "completed":
        app.handle(CompleteOrder(organization_id=ORG, order_id=order_id))
    report_id: str = app.handle(GenerateReport(organization_id=ORG, order_id=order_id))["report_id"]
    return report_id


def sign(app: FakeApp, report_id: str) -> None:
    app.handle(
        SignReport(
            organization_id=ORG, user_id="path-1", report_id=report_id, pathologist_name="Dr. Iyer"
        )
    )


def deliver(app: FakeApp, report_id: str) -> None:
    app.handle(DeliverReport(organization_id=ORG, report_id=report_id, recipients=PORTAL))


def amend(app: FakeApp, result_id: str, value: str) -> None:
    app.handle(
        AmendResult(
            organization_id=ORG,
            user_id="tech-2",
            result_id=result_id,
            value_text=value,
            unit="mmol/L",
            reason="re-run",
        )
    )


def acknowledge(app: FakeApp, result_id: str) -> None:
    app.clock.advance(minutes=15)  # the call, a quarter of an hour after detection
    app.handle(
        AcknowledgeCriticalValue(
            organization_id=ORG,
            result_id=result_id,
            acknowledged_by="Sr. Nurse Thomas",
            called_by="tech-1",
            read_back_confirmed=True,
        )
    )


class TestAStaleReportVersionNeverGoesOut:
    def test_a_version_generated_before_its_result_was_amended_cannot_be_signed(
        self, app: FakeApp
    ) -> None:
        flow = completed(app)
        report_id = generate(app, flow["order_id"])
        amend(app, flow["result_id"], "4.8")
        app.handle(VerifyResult(organization_id=ORG, user_id="path-1", result_id=flow["result_id"]))
        with pytest.raises(Conflict, match="results changed after this report version"):
            sign(app, report_id)
        assert app.uow.events(ReportSigned) == []

    def test_a_delivered_version_is_not_delivered_again_after_its_result_changed(
        self, app: FakeApp
    ) -> None:
        flow = completed(app)
        report_id = generate(app, flow["order_id"])
        sign(app, report_id)
        deliver(app, report_id)
        amend(app, flow["result_id"], "4.8")
        app.handle(VerifyResult(organization_id=ORG, user_id="path-1", result_id=flow["result_id"]))
        with pytest.raises(Conflict, match="cannot be delivered"):
            deliver(app, report_id)
        assert len(app.uow.events(ReportDelivered)) == 1

    def test_a_signed_version_is_not_delivered_after_its_result_changed(self, app: FakeApp) -> None:
        flow = completed(app)
        report_id = generate(app, flow["order_id"])
        sign(app, report_id)
        amend(app, flow["result_id"], "4.8")
        with pytest.raises(Conflict, match="cannot be delivered"):
            deliver(app, report_id)

    def test_the_amended_version_is_the_one_that_goes_out(self, app: FakeApp) -> None:
        flow = completed(app)
        report_id = generate(app, flow["order_id"])
        sign(app, report_id)
        deliver(app, report_id)
        amend(app, flow["result_id"], "4.8")
        app.handle(VerifyResult(organization_id=ORG, user_id="path-1", result_id=flow["result_id"]))
        app.handle(AmendReport(organization_id=ORG, order_id=flow["order_id"], reason="K re-run"))
        sign(app, report_id)
        deliver(app, report_id)
        delivered = app.uow.events(ReportDelivered)
        assert [d.report_version for d in delivered] == [1, 2]
        assert app.uow.events(ReportGenerated)[-1].lines[0].value_text == "4.8"
        sources = app.uow.events(ReportGenerated)[-1].sources
        assert [(s.result_id, s.result_version) for s in sources] == [
            (flow["result_id"], app.load(Report, report_id).current.sources[flow["result_id"]])
        ]


class TestTheCriticalCallBeforeRelease:
    def test_no_report_is_generated_while_a_critical_call_is_undocumented(
        self, app: FakeApp
    ) -> None:
        flow = completed(app, value="6.8")
        with pytest.raises(Conflict, match="read-back call"):
            generate(app, flow["order_id"])
        assert app.uow.events(ReportGenerated) == []

    def test_the_report_prints_who_called_whom_when_and_the_read_back(self, app: FakeApp) -> None:
        flow = completed(app, value="6.8")
        acknowledge(app, flow["result_id"])
        report_id = generate(app, flow["order_id"])
        sign(app, report_id)
        [line] = app.uow.events(ReportGenerated)[0].lines
        [call] = line.critical_calls
        assert (call.called_by, call.acknowledged_by, call.value_text) == (
            "tech-1",
            "Sr. Nurse Thomas",
            "6.8",
        )
        text = app.load(Report, report_id).current.document_text
        assert "phoned by tech-1 to Sr. Nurse Thomas at 2024-06-15 10:15 IST, read back" in text
        assert "phoned to the ordering clinician" not in text

    def test_an_order_with_an_uncalled_critical_value_cannot_be_cancelled(
        self, app: FakeApp
    ) -> None:
        flow = result(app, value="6.8")  # entered, not verified: cancelling was allowed
        with pytest.raises(Conflict, match="critical values not yet called"):
            app.handle(CancelOrder(organization_id=ORG, order_id=flow["order_id"], reason="dup"))
        acknowledge(app, flow["result_id"])
        app.handle(CancelOrder(organization_id=ORG, order_id=flow["order_id"], reason="dup"))
        assert app.load(Order, flow["order_id"]).status == "cancelled"


class TestWhatTheReportPrints:
    def test_the_lab_the_specimen_its_times_and_the_verifier_are_printed(self) -> None:
        app = FakeApp(
            policy=LabPolicy(lab_name="Sunrise Diagnostics", lab_address="12 MG Road, Pune")
        )
        flow = completed(app)
        report_id = generate(app, flow["order_id"])
        [line] = app.uow.events(ReportGenerated)[0].lines
        assert line.accession_number
        assert line.accession_number.startswith("S2406")
        assert (line.specimen_type, line.verified_by, line.self_verified) == (
            "serum",
            "path-1",
            False,
        )
        assert line.collected_at == line.received_at == app.clock.now()
        text = app.load(Report, report_id).current.document_text
        for printed in (
            "Sunrise Diagnostics",
            "12 MG Road, Pune",
            line.accession_number,
            "serum",
            "collected 2024-06-15 10:00 IST",
            "received 2024-06-15 10:00 IST",
            "verified by path-1",
            "Issued  : 2024-06-15 10:00 IST",
        ):
            assert printed in text, printed

    def test_a_single_name_prints_without_a_stray_space(self, app: FakeApp) -> None:
        flow = completed(app, family_name="", given_name="Selvi")
        report_id = generate(app, flow["order_id"])
        assert "Patient : Selvi    MRN" in app.load(Report, report_id).current.document_text
