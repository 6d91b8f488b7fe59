"""Self-verification on the record (issue 12, smaller items): a result released by the
person who wrote it, as the lab's policy allows, says so on RESULT_VERIFIED and the report."""

from __future__ import annotations

from domains.order.commands import CompleteOrder
from domains.report.commands import GenerateReport
from domains.report.model import Report
from domains.result.commands import VerifyResult
from domains.result.events import ResultVerified
from domains.shared.policy import LabPolicy
from tests.unit.domains.conftest import ORG, result
from tests.unit.fakes import FakeApp


def verify(app: FakeApp, result_id: str, user: str = "path-1") -> None:
    app.handle(VerifyResult(organization_id=ORG, user_id=user, result_id=result_id))


class TestSelfVerificationIsOnTheRecord:
    def test_a_self_verified_result_says_so_on_its_event_and_the_report(self) -> None:
        app = FakeApp(policy=LabPolicy(allow_self_verification=True))
        flow = result(app)
        verify(app, flow["result_id"], user="tech-1")  # who entered it
        [verified] = app.uow.events(ResultVerified)
        assert verified.payload()["self_verified"] is True
        app.handle(CompleteOrder(organization_id=ORG, order_id=flow["order_id"]))
        report_id = app.handle(GenerateReport(organization_id=ORG, order_id=flow["order_id"]))[
            "report_id"
        ]
        assert "self-verified under lab policy" in app.load(Report, report_id).current.document_text

    def test_a_second_persons_verification_is_marked_as_such(self, app: FakeApp) -> None:
        flow = result(app)
        verify(app, flow["result_id"], user="path-1")
        assert app.uow.events(ResultVerified)[0].payload()["self_verified"] is False
