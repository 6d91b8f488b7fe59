"""Withdrawing a result (issue 12, defect 9): a value that must not be acted on (mislabelled
tube found after resulting, analytical fault) is invalidated with a coded reason, who and when;
the tube can then be rejected and recollected, and the amended report says "withdrawn"."""

from __future__ import annotations

import pytest

from domains.order.commands import CompleteOrder
from domains.order.events import OrderCompleted
from domains.report.commands import (
    AmendReport,
    DeliverReport,
    GenerateReport,
    Recipient,
    SignReport,
)
from domains.report.model import Report
from domains.result.commands import (
    AmendResult,
    EnterResult,
    EscalateCriticalValue,
    InvalidateResult,
    VerifyResult,
)
from domains.result.critical import CriticalValueClosed
from domains.result.events import ResultInvalidated
from domains.result.model import Result
from domains.sample.commands import CollectSample, ReceiveSample, RejectSample
from domains.shared.errors import Conflict, IllegalTransition, InvalidInput
from tests.unit.domains.conftest import ORG, POTASSIUM, result
from tests.unit.fakes import FakeApp


def invalidate(app: FakeApp, result_id: str, reason: str = "mislabeled_specimen") -> None:
    app.handle(
        InvalidateResult(
            organization_id=ORG,
            user_id="path-1",
            result_id=result_id,
            reason_code=reason,
            reason_text="tube labelled with the neighbouring bed's barcode",
        )
    )


def verify(app: FakeApp, result_id: str, user: str = "path-1") -> None:
    app.handle(VerifyResult(organization_id=ORG, user_id=user, result_id=result_id))


class TestWithdrawingAResult:
    def test_a_released_result_is_withdrawn_with_a_coded_reason_who_and_when(
        self, app: FakeApp
    ) -> None:
        flow = result(app, value="4.2", verify=True)
        invalidate(app, flow["result_id"])
        [event] = app.uow.events(ResultInvalidated)
        assert (event.reason_code, event.invalidated_by, event.was_released) == (
            "mislabeled_specimen",
            "path-1",
            True,
        )
        assert event.invalidated_at == app.clock.now()
        assert event.previous_value_text == "4.2"
        assert app.load(Result, flow["result_id"]).status == "invalidated"

    @pytest.mark.parametrize(
        ("user", "reason", "field"),
        [
            ("path-1", "oops", "reason_code"),
            (None, "mislabeled_specimen", "user_id"),
        ],
    )
    def test_a_withdrawal_needs_a_coded_reason_and_a_user(
        self, app: FakeApp, user: str | None, reason: str, field: str
    ) -> None:
        flow = result(app, verify=True)
        with pytest.raises(InvalidInput) as err:
            app.handle(
                InvalidateResult(
                    organization_id=ORG,
                    user_id=user,
                    result_id=flow["result_id"],
                    reason_code=reason,
                )
            )
        assert err.value.field == field
        assert app.uow.events(ResultInvalidated) == []

    def test_a_withdrawn_result_is_never_amended_verified_or_withdrawn_again(
        self, app: FakeApp
    ) -> None:
        flow = result(app, verify=True)
        invalidate(app, flow["result_id"])
        for command in (
            AmendResult(
                organization_id=ORG,
                user_id="tech-2",
                result_id=flow["result_id"],
                value_text="4.0",
                unit="mmol/L",
                reason="re-run",
            ),
            VerifyResult(organization_id=ORG, user_id="path-2", result_id=flow["result_id"]),
        ):
            with pytest.raises(IllegalTransition):
                app.handle(command)
        with pytest.raises(IllegalTransition):
            invalidate(app, flow["result_id"])

    def test_withdrawing_a_critical_value_closes_its_open_call(self, app: FakeApp) -> None:
        flow = result(app, value="6.9")
        invalidate(app, flow["result_id"], "specimen_integrity")
        [event] = app.uow.events(ResultInvalidated)
        assert event.superseded_critical_ids == flow["critical_ids"]
        with pytest.raises(CriticalValueClosed):
            app.handle(
                EscalateCriticalValue(organization_id=ORG, result_id=flow["result_id"], tier=1)
            )

    def test_a_mislabelled_tube_found_after_resulting_is_rejected_and_recollected(
        self, app: FakeApp
    ) -> None:
        flow = result(app, value="4.2", verify=True)
        with pytest.raises(Conflict, match="invalidate those results first"):
            app.handle(
                RejectSample(
                    organization_id=ORG, sample_id=flow["sample_id"], reason_code="mislabeled"
                )
            )
        invalidate(app, flow["result_id"])
        app.handle(
            RejectSample(organization_id=ORG, sample_id=flow["sample_id"], reason_code="mislabeled")
        )
        new_tube = app.handle(
            CollectSample(
                organization_id=ORG,
                order_id=flow["order_id"],
                specimen_type="serum",
                loinc_codes=[POTASSIUM],
            )
        )["sample_id"]
        app.handle(ReceiveSample(organization_id=ORG, sample_id=new_tube))
        new_result = app.handle(
            EnterResult(
                organization_id=ORG,
                user_id="tech-1",
                sample_id=new_tube,
                loinc_code=POTASSIUM,
                value_text="3.9",
                unit="mmol/L",
            )
        )["result_id"]
        verify(app, new_result)
        app.handle(CompleteOrder(organization_id=ORG, order_id=flow["order_id"]))
        [completed] = app.uow.events(OrderCompleted)
        assert completed.result_ids == [new_result]

    def test_the_amended_report_says_withdrawn_and_never_prints_the_value(
        self, app: FakeApp
    ) -> None:
        flow = result(app, value="5.7", verify=True)
        app.handle(CompleteOrder(organization_id=ORG, order_id=flow["order_id"]))
        report_id = app.handle(GenerateReport(organization_id=ORG, order_id=flow["order_id"]))[
            "report_id"
        ]
        app.handle(
            SignReport(
                organization_id=ORG, user_id="path-1", report_id=report_id, pathologist_name="Iyer"
            )
        )
        invalidate(app, flow["result_id"], "qc_failure")
        portal = [Recipient(role="ordering_clinician", name="Dr. Rao", channel="portal")]
        with pytest.raises(Conflict):  # the signed version still shows the withdrawn value
            app.handle(DeliverReport(organization_id=ORG, report_id=report_id, recipients=portal))
        app.handle(AmendReport(organization_id=ORG, order_id=flow["order_id"], reason="K void"))
        version = app.load(Report, report_id).current
        [line] = version.lines
        assert line.withdrawn_reason is not None
        assert line.withdrawn_reason.startswith("qc_failure")
        assert line.value_text == ""
        assert "WITHDRAWN" in version.document_text
        assert "5.7" not in version.document_text
