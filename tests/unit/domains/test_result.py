from __future__ import annotations

from datetime import date, timedelta

import pytest

from domains.result.commands import (
    AcknowledgeCriticalValue,
    AmendResult,
    EnterResult,
    EscalateCriticalValue,
    VerifyResult,
)
from domains.result.events import (
    CriticalValueAcknowledged,
    CriticalValueDetected,
    CriticalValueEscalated,
    ResultAmended,
    ResultEntered,
    ResultVerified,
)
from domains.result.model import Result
from domains.sample.commands import CollectSample, RejectSample
from domains.shared.errors import Conflict, IllegalTransition, InvalidInput, PermissionDenied
from tests.unit.domains.conftest import (
    GLUCOSE,
    HEMOGLOBIN,
    ORG,
    POTASSIUM,
    order,
    received_sample,
    register,
    result,
)
from tests.unit.fakes import FakeApp


class TestEnteringAResult:
    def test_a_normal_potassium_is_flagged_n_and_stamped_with_the_catalog_version(
        self, app: FakeApp
    ) -> None:
        result(app, value="4.20")
        [entered] = app.uow.events(ResultEntered)
        assert (entered.flag, entered.value, entered.value_text) == ("N", 4.2, "4.20")
        assert entered.catalog_version == app.catalog.version
        assert entered.reference_text == "3.5-5.1"

    def test_a_critical_potassium_records_the_critical_event_in_the_same_command(
        self, app: FakeApp
    ) -> None:
        flow = result(app, value="6.8")
        entered = [e for e in app.uow.committed if e.metadata.aggregate_id == flow["result_id"]]
        assert [e.metadata.event_type for e in entered] == [
            "RESULT_ENTERED",
            "CRITICAL_VALUE_DETECTED",
        ]
        assert entered[0].metadata.causation_id == entered[1].metadata.causation_id
        [critical] = app.uow.events(CriticalValueDetected)
        assert (critical.flag, critical.critical_high) == ("HH", 6.2)
        assert flow["critical_ids"] == [critical.critical_id]

    def test_hemoglobin_is_flagged_by_the_patients_sex(self, app: FakeApp) -> None:
        result(
            app, code=HEMOGLOBIN, value="12.5", unit="g/dL", specimen_type="whole_blood", sex="male"
        )
        assert app.uow.events(ResultEntered)[0].flag == "L"

    def test_flags_use_the_age_at_collection(self, app: FakeApp) -> None:
        app.clock.current = app.clock.current.replace(year=2024, month=6, day=10)
        result(app, value="5.5", date_of_birth=date(2024, 6, 1))  # a 9-day-old
        assert app.uow.events(ResultEntered)[0].flag == "N"  # neonatal range goes to 5.9

    def test_glucose_entered_in_mmol_per_litre_is_converted_and_the_original_kept(
        self, app: FakeApp
    ) -> None:
        result(app, code=GLUCOSE, value="2.0", unit="mmol/L", specimen_type="plasma")
        [entered] = app.uow.events(ResultEntered)
        assert (entered.unit, entered.value_text, entered.flag) == ("mg/dL", "36", "LL")
        assert (entered.entered_value_text, entered.entered_unit) == ("2.0", "mmol/L")

    def test_a_test_already_resulted_on_the_sample_must_be_amended_instead(
        self, app: FakeApp
    ) -> None:
        flow = result(app)
        with pytest.raises(Conflict):
            app.handle(
                EnterResult(
                    organization_id=ORG,
                    sample_id=flow["sample_id"],
                    loinc_code=POTASSIUM,
                    value_text="4.1",
                    unit="mmol/L",
                )
            )

    def test_a_rejected_sample_takes_no_results(self, app: FakeApp) -> None:
        order_id = order(app, register(app)["patient_id"])
        sample_id = app.handle(
            CollectSample(organization_id=ORG, order_id=order_id, specimen_type="serum")
        )["sample_id"]
        app.handle(RejectSample(organization_id=ORG, sample_id=sample_id, reason_code="leaked"))
        with pytest.raises(IllegalTransition):
            app.handle(
                EnterResult(
                    organization_id=ORG,
                    sample_id=sample_id,
                    loinc_code=POTASSIUM,
                    value_text="4.1",
                    unit="mmol/L",
                )
            )


class TestVerifyingAResult:
    def test_another_user_verifies_a_result(self, app: FakeApp) -> None:
        flow = result(app, verify=True)
        assert app.uow.events(ResultVerified)[0].verified_by == "path-1"
        assert app.load(Result, flow["result_id"]).is_verified

    def test_the_enterer_cannot_verify_their_own_result(self, app: FakeApp) -> None:
        flow = result(app)
        with pytest.raises(PermissionDenied):
            app.handle(
                VerifyResult(organization_id=ORG, user_id="tech-1", result_id=flow["result_id"])
            )
        assert app.uow.events(ResultVerified) == []

    def test_a_lab_policy_may_allow_self_verification(self) -> None:
        app = FakeApp(allow_self_verification=True)
        flow = result(app)
        app.handle(VerifyResult(organization_id=ORG, user_id="tech-1", result_id=flow["result_id"]))
        assert len(app.uow.events(ResultVerified)) == 1

    def test_a_verified_result_cannot_be_verified_again(self, app: FakeApp) -> None:
        flow = result(app, verify=True)
        with pytest.raises(IllegalTransition):
            app.handle(
                VerifyResult(organization_id=ORG, user_id="path-2", result_id=flow["result_id"])
            )


class TestAmendingAResult:
    def test_an_amendment_keeps_the_history_and_reflags(self, app: FakeApp) -> None:
        flow = result(app, value="4.2", verify=True)
        app.handle(
            AmendResult(
                organization_id=ORG,
                user_id="path-1",
                result_id=flow["result_id"],
                value_text="5.6",
                unit="mmol/L",
                reason="transcription error",
            )
        )
        [amended] = app.uow.events(ResultAmended)
        assert (amended.previous_value_text, amended.value_text, amended.flag) == (
            "4.2",
            "5.6",
            "H",
        )
        stored = app.load(Result, flow["result_id"])
        assert stored.status == "amended"
        assert stored.amendments[0]["previous_value_text"] == "4.2"

    def test_amending_into_the_critical_range_opens_a_new_critical_episode(
        self, app: FakeApp
    ) -> None:
        flow = result(app, value="4.2", verify=True)
        outcome = app.handle(
            AmendResult(
                organization_id=ORG,
                result_id=flow["result_id"],
                value_text="2.1",
                unit="mmol/L",
                reason="re-run",
            )
        )
        assert len(outcome["critical_ids"]) == 1
        assert app.uow.events(CriticalValueDetected)[0].flag == "LL"


class TestCriticalValueCalls:
    def test_a_critical_value_is_acknowledged_with_read_back(self, app: FakeApp) -> None:
        flow = result(app, value="6.8")
        app.clock.advance(minutes=12)
        app.handle(
            AcknowledgeCriticalValue(
                organization_id=ORG,
                result_id=flow["result_id"],
                acknowledged_by="Sr. Mary (ICU)",
                called_by="tech-1",
                read_back_confirmed=True,
            )
        )
        [ack] = app.uow.events(CriticalValueAcknowledged)
        assert (ack.minutes_to_acknowledge, ack.critical_id) == (12, flow["critical_ids"][0])

    def test_an_acknowledgement_without_read_back_is_refused(self, app: FakeApp) -> None:
        flow = result(app, value="6.8")
        with pytest.raises(InvalidInput) as err:
            app.handle(
                AcknowledgeCriticalValue(
                    organization_id=ORG,
                    result_id=flow["result_id"],
                    acknowledged_by="Dr. Rao",
                    called_by="tech-1",
                    read_back_confirmed=False,
                )
            )
        assert err.value.field == "read_back_confirmed"

    def test_a_result_without_a_critical_value_cannot_be_acknowledged(self, app: FakeApp) -> None:
        flow = result(app, value="4.2")
        with pytest.raises(IllegalTransition):
            app.handle(
                AcknowledgeCriticalValue(
                    organization_id=ORG,
                    result_id=flow["result_id"],
                    acknowledged_by="Dr. Rao",
                    called_by="tech-1",
                    read_back_confirmed=True,
                )
            )

    def test_an_unacknowledged_critical_escalates_tier_by_tier(self, app: FakeApp) -> None:
        flow = result(app, value="6.8")
        for tier in (1, 2):
            app.handle(
                EscalateCriticalValue(
                    organization_id=ORG, result_id=flow["result_id"], tier=tier, reason="no answer"
                )
            )
        assert [e.tier for e in app.uow.events(CriticalValueEscalated)] == [1, 2]
        with pytest.raises(IllegalTransition):
            app.handle(
                EscalateCriticalValue(organization_id=ORG, result_id=flow["result_id"], tier=2)
            )

    def test_an_acknowledged_critical_cannot_be_escalated(self, app: FakeApp) -> None:
        flow = result(app, value="6.8")
        app.handle(
            AcknowledgeCriticalValue(
                organization_id=ORG,
                result_id=flow["result_id"],
                acknowledged_by="Dr. Rao",
                called_by="tech-1",
                read_back_confirmed=True,
            )
        )
        with pytest.raises(IllegalTransition):
            app.handle(
                EscalateCriticalValue(organization_id=ORG, result_id=flow["result_id"], tier=1)
            )

    def test_an_acknowledgement_dated_in_the_future_is_refused(self, app: FakeApp) -> None:
        flow = result(app, value="6.8")
        with pytest.raises(InvalidInput):
            app.handle(
                AcknowledgeCriticalValue(
                    organization_id=ORG,
                    result_id=flow["result_id"],
                    acknowledged_by="Dr. Rao",
                    called_by="tech-1",
                    read_back_confirmed=True,
                    acknowledged_at=app.clock.now() + timedelta(hours=1),
                )
            )


def test_results_on_two_tests_of_one_sample_are_separate_aggregates(app: FakeApp) -> None:
    order_id = order(app, register(app)["patient_id"], POTASSIUM, "2951-2")
    sample_id = received_sample(app, order_id)
    ids = {
        app.handle(
            EnterResult(
                organization_id=ORG,
                sample_id=sample_id,
                loinc_code=code,
                value_text="4",
                unit="mmol/L",
            )
        )["result_id"]
        for code in (POTASSIUM, "2951-2")
    }
    assert len(ids) == 2
