from __future__ import annotations

import pytest

from domains.order.commands import CompleteOrder
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
from domains.result.commands import AmendResult, VerifyResult
from domains.shared.errors import Conflict, IllegalTransition, InvalidInput
from tests.unit.domains.conftest import ORG, result
from tests.unit.fakes import FakeApp


def generate(app: FakeApp, order_id: str, *, complete: bool = True) -> str:
    """Complete the order (as the completion processor would) and generate its report."""
    if complete and app.load(Order, order_id).status != "completed":
        app.handle(CompleteOrder(organization_id=ORG, order_id=order_id))
    report_id: str = app.handle(GenerateReport(organization_id=ORG, order_id=order_id))["report_id"]
    return report_id


def amend(app: FakeApp, result_id: str, value: str, *, user: str = "tech-2") -> None:
    app.handle(
        AmendResult(
            organization_id=ORG,
            user_id=user,
            result_id=result_id,
            value_text=value,
            unit="mmol/L",
            reason="re-run",
        )
    )


class TestGeneratingAReport:
    def test_a_report_lists_the_verified_results_and_renders_a_document(self, app: FakeApp) -> None:
        flow = result(app, value="5.6", verify=True)
        report_id = generate(app, flow["order_id"])
        [generated] = app.uow.events(ReportGenerated)
        assert generated.report_version == 1
        assert generated.result_ids == [flow["result_id"]]
        assert generated.lines[0].flag == "H"
        text = app.load(Report, report_id).current.document_text
        assert "Potassium" in text
        assert "5.6" in text
        assert "Priya Sharma" in text

    def test_an_order_that_is_not_completed_gets_no_report(self, app: FakeApp) -> None:
        flow = result(app, verify=True)  # every test verified, but nobody completed the order
        with pytest.raises(IllegalTransition) as err:
            generate(app, flow["order_id"], complete=False)
        assert (err.value.aggregate_type, err.value.state) == ("Order", "confirmed")
        assert "confirmed" in str(err.value)
        assert app.uow.events(ReportGenerated) == []

    def test_an_order_without_verified_results_has_nothing_to_report(self, app: FakeApp) -> None:
        flow = result(app)
        with pytest.raises(IllegalTransition) as err:
            generate(app, flow["order_id"], complete=False)
        assert err.value.state == "confirmed"

    def test_a_result_amended_after_completion_blocks_the_report_until_verified(
        self, app: FakeApp
    ) -> None:
        flow = result(app, value="4.2", verify=True)
        app.handle(CompleteOrder(organization_id=ORG, order_id=flow["order_id"]))
        amend(app, flow["result_id"], "4.8")
        with pytest.raises(Conflict) as err:
            generate(app, flow["order_id"])
        assert "awaiting verification" in str(err.value)
        app.handle(VerifyResult(organization_id=ORG, user_id="path-1", result_id=flow["result_id"]))
        generate(app, flow["order_id"])
        [generated] = app.uow.events(ReportGenerated)
        assert generated.lines[0].value_text == "4.8"

    def test_generating_twice_returns_the_same_report(self, app: FakeApp) -> None:
        flow = result(app, verify=True)
        assert generate(app, flow["order_id"]) == generate(app, flow["order_id"])
        assert len(app.uow.events(ReportGenerated)) == 1


class TestSigningAndDelivering:
    def test_a_signed_report_is_delivered_once_per_recipient(self, app: FakeApp) -> None:
        flow = result(app, verify=True)
        report_id = generate(app, flow["order_id"])
        app.handle(
            SignReport(
                organization_id=ORG,
                user_id="path-1",
                report_id=report_id,
                pathologist_name="Dr. Iyer, MD",
            )
        )
        app.handle(
            DeliverReport(
                organization_id=ORG,
                report_id=report_id,
                recipients=[
                    Recipient(
                        role="patient", name="Priya Sharma", channel="sms", destination="9876543210"
                    ),
                    Recipient(
                        role="ordering_clinician",
                        name="Dr. Rao",
                        channel="email",
                        destination="rao@clinic.in",
                    ),
                ],
            )
        )
        signed = app.uow.events(ReportSigned)[0]
        assert (signed.signed_by, signed.signed_by_user_id) == ("Dr. Iyer, MD", "path-1")
        assert app.load(Report, report_id).current.signed_by_user_id == "path-1"
        delivered = app.uow.events(ReportDelivered)
        assert [d.destination_masked for d in delivered] == ["+91XXXXXX3210", "r***@clinic.in"]

    def test_an_unsigned_report_cannot_be_delivered(self, app: FakeApp) -> None:
        report_id = generate(app, result(app, verify=True)["order_id"])
        with pytest.raises(IllegalTransition):
            app.handle(
                DeliverReport(
                    organization_id=ORG,
                    report_id=report_id,
                    recipients=[Recipient(role="patient", name="Priya", channel="portal")],
                )
            )

    def test_a_report_is_not_signed_by_a_name_alone(self, app: FakeApp) -> None:
        report_id = generate(app, result(app, verify=True)["order_id"])
        with pytest.raises(InvalidInput, match="user_id"):
            app.handle(
                SignReport(organization_id=ORG, report_id=report_id, pathologist_name="Dr. Iyer")
            )
        assert app.uow.events(ReportSigned) == []


class TestAmendedReports:
    def test_amending_a_result_after_sign_off_gives_a_new_report_version(
        self, app: FakeApp
    ) -> None:
        flow = result(app, value="4.2", verify=True)
        report_id = generate(app, flow["order_id"])
        app.handle(
            SignReport(
                organization_id=ORG, user_id="path-1", report_id=report_id, pathologist_name="Iyer"
            )
        )
        amend(app, flow["result_id"], "4.8")
        with pytest.raises(Conflict):  # the new value is not verified yet: not for a report
            app.handle(
                AmendReport(organization_id=ORG, order_id=flow["order_id"], reason="corrected")
            )
        app.handle(VerifyResult(organization_id=ORG, user_id="path-1", result_id=flow["result_id"]))
        outcome = app.handle(
            AmendReport(
                organization_id=ORG, order_id=flow["order_id"], reason="potassium corrected"
            )
        )
        assert (outcome["report_version"], outcome["status"]) == (2, "generated")
        amended = app.uow.events(ReportGenerated)[-1]
        assert amended.amendment_reason == "potassium corrected"
        assert amended.lines[0].value_text == "4.8"
        assert amended.lines[0].amended
        report = app.load(Report, report_id)
        assert "AMENDED" in report.current.document_text
        assert report.versions[0].signed_by == "Iyer"  # the first version stays as signed
