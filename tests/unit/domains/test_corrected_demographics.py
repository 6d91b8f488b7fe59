"""Corrections reach results (issue 12, defect 8): correcting a patient's sex or date of birth
re-reads every result of the patient in the same transaction; an unreleased one takes the new
flag, a released one keeps what was released and is held for review (RESULT_REINTERPRETED)."""

from __future__ import annotations

from datetime import date

import pytest

from domains.order.commands import CompleteOrder
from domains.patient.commands import UpdatePatient
from domains.report.commands import GenerateReport
from domains.result.commands import AmendResult, VerifyResult
from domains.result.model import Result
from domains.shared.errors import Conflict
from domains.shared.messages import Event
from tests.unit.domains.conftest import HEMOGLOBIN, ORG, result
from tests.unit.fakes import FakeApp


def reinterpreted(app: FakeApp) -> list[Event]:
    return [e.event for e in app.uow.committed if e.metadata.event_type == "RESULT_REINTERPRETED"]


def verify(app: FakeApp, result_id: str, user: str = "path-1") -> None:
    app.handle(VerifyResult(organization_id=ORG, user_id=user, result_id=result_id))


class TestCorrectedDemographicsReachResults:
    def test_an_open_result_is_reflagged_when_the_patients_sex_is_corrected(
        self, app: FakeApp
    ) -> None:
        flow = result(app, code=HEMOGLOBIN, value="12.5", unit="g/dL", specimen_type="whole_blood")
        assert app.load(Result, flow["result_id"]).interpretation.flag == "N"  # as a woman
        app.handle(UpdatePatient(organization_id=ORG, patient_id=flow["patient_id"], sex="male"))
        stored = app.load(Result, flow["result_id"])
        assert (stored.interpretation.flag, stored.context.patient_sex) == ("L", "male")
        [event] = reinterpreted(app)
        payload = event.payload()
        assert (payload["previous_flag"], payload["flag"], payload["review_required"]) == (
            "N",
            "L",
            False,
        )
        assert payload["changed_fields"] == ["sex"]

    def test_a_released_result_keeps_its_flag_and_is_held_for_review(self, app: FakeApp) -> None:
        flow = result(
            app,
            code=HEMOGLOBIN,
            value="12.5",
            unit="g/dL",
            specimen_type="whole_blood",
            verify=True,
        )
        app.handle(UpdatePatient(organization_id=ORG, patient_id=flow["patient_id"], sex="male"))
        stored = app.load(Result, flow["result_id"])
        assert stored.interpretation.flag == "N"  # what was released stays on record
        assert getattr(stored, "review_required", None) is not None
        [event] = reinterpreted(app)
        assert (event.payload()["flag"], event.payload()["review_required"]) == ("L", True)
        app.handle(CompleteOrder(organization_id=ORG, order_id=flow["order_id"]))
        with pytest.raises(Conflict):  # no report with a flag read against the wrong sex
            app.handle(GenerateReport(organization_id=ORG, order_id=flow["order_id"]))
        app.handle(
            AmendResult(
                organization_id=ORG,
                user_id="tech-2",
                result_id=flow["result_id"],
                value_text="12.5",
                unit="g/dL",
                reason="re-read after sex corrected",
            )
        )
        verify(app, flow["result_id"])
        app.handle(GenerateReport(organization_id=ORG, order_id=flow["order_id"]))
        assert app.load(Result, flow["result_id"]).interpretation.flag == "L"

    def test_a_corrected_date_of_birth_reads_the_value_at_the_true_age(self, app: FakeApp) -> None:
        flow = result(
            app,
            code=HEMOGLOBIN,
            value="12.5",
            unit="g/dL",
            specimen_type="whole_blood",
            sex="male",
            given_name="Arjun",
        )
        assert app.load(Result, flow["result_id"]).interpretation.flag == "L"  # as a man
        app.handle(
            UpdatePatient(
                organization_id=ORG, patient_id=flow["patient_id"], date_of_birth=date(2019, 3, 14)
            )
        )
        assert app.load(Result, flow["result_id"]).interpretation.flag == "N"  # a 5-year-old
        assert reinterpreted(app)[0].payload()["changed_fields"] == ["date_of_birth"]

    def test_a_correction_of_the_mobile_leaves_results_alone(self, app: FakeApp) -> None:
        flow = result(app, value="4.2", verify=True)
        app.handle(
            UpdatePatient(organization_id=ORG, patient_id=flow["patient_id"], mobile="9876500099")
        )
        assert reinterpreted(app) == []
