from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest

from domains.order.commands import CancelOrder, CompleteOrder
from domains.result.commands import (
    AcknowledgeCriticalValue,
    AmendResult,
    EnterResult,
    EscalateCriticalValue,
    VerifyResult,
)
from domains.result.critical import CriticalValueClosed
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
from domains.shared.policy import LabPolicy
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


def amend(
    app: FakeApp,
    result_id: str,
    value: str,
    *,
    user: str | None = "path-1",
    reason: str = "re-run",
) -> dict[str, Any]:
    return app.handle(
        AmendResult(
            organization_id=ORG,
            user_id=user,
            result_id=result_id,
            value_text=value,
            unit="mmol/L",
            reason=reason,
        )
    )


def acknowledge(app: FakeApp, result_id: str, critical_id: str | None = None) -> None:
    app.handle(
        AcknowledgeCriticalValue(
            organization_id=ORG,
            result_id=result_id,
            critical_id=critical_id,
            acknowledged_by="Dr. Rao",
            called_by="tech-1",
            read_back_confirmed=True,
        )
    )


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
        app = FakeApp(policy=LabPolicy(allow_self_verification=True))
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
        outcome = amend(app, flow["result_id"], "2.1")
        assert len(outcome["critical_ids"]) == 1
        assert app.uow.events(CriticalValueDetected)[0].flag == "LL"

    def test_an_amended_verified_result_must_be_verified_again(self, app: FakeApp) -> None:
        flow = result(app, value="4.2", verify=True)
        outcome = amend(app, flow["result_id"], "5.6", user="tech-1")
        assert outcome["status"] == "amended"
        stored = app.load(Result, flow["result_id"])
        assert not stored.is_verified
        assert stored.verified_by is None
        app.handle(VerifyResult(organization_id=ORG, user_id="path-1", result_id=flow["result_id"]))
        verified = app.uow.events(ResultVerified)
        assert [(v.value_text, v.verified_by) for v in verified] == [
            ("4.2", "path-1"),
            ("5.6", "path-1"),
        ]
        assert app.load(Result, flow["result_id"]).is_verified

    def test_the_amender_cannot_verify_their_own_amendment(self, app: FakeApp) -> None:
        flow = result(app, value="4.2", verify=True)  # entered by tech-1, verified by path-1
        amend(app, flow["result_id"], "5.6", user="path-1")
        with pytest.raises(PermissionDenied):
            app.handle(
                VerifyResult(organization_id=ORG, user_id="path-1", result_id=flow["result_id"])
            )
        app.handle(VerifyResult(organization_id=ORG, user_id="tech-1", result_id=flow["result_id"]))
        assert app.uow.events(ResultVerified)[-1].verified_by == "tech-1"

    def test_a_lab_policy_may_allow_the_amender_to_verify(self) -> None:
        app = FakeApp(policy=LabPolicy(allow_self_verification=True))
        flow = result(app, value="4.2", verify=True)
        amend(app, flow["result_id"], "5.6", user="path-1")
        app.handle(VerifyResult(organization_id=ORG, user_id="path-1", result_id=flow["result_id"]))
        assert app.load(Result, flow["result_id"]).is_verified

    def test_a_verified_result_cannot_be_amended_anonymously(self, app: FakeApp) -> None:
        flow = result(app, value="4.2", verify=True)
        with pytest.raises(InvalidInput) as err:
            amend(app, flow["result_id"], "5.6", user=None)
        assert err.value.field == "user_id"

    def test_an_amendment_awaiting_verification_does_not_complete_the_order(
        self, app: FakeApp
    ) -> None:
        flow = result(app, value="4.2", verify=True)
        amend(app, flow["result_id"], "5.6", user="tech-1")
        with pytest.raises(IllegalTransition) as err:
            app.handle(CompleteOrder(organization_id=ORG, order_id=flow["order_id"]))
        assert POTASSIUM in str(err.value)

    def test_an_order_with_an_amended_result_still_cannot_be_cancelled(self, app: FakeApp) -> None:
        flow = result(app, value="4.2", verify=True)
        amend(app, flow["result_id"], "5.6", user="tech-1")
        with pytest.raises(IllegalTransition):
            app.handle(CancelOrder(organization_id=ORG, order_id=flow["order_id"], reason="x"))


class TestAmendingACriticalValue:
    def test_amending_a_critical_value_to_normal_supersedes_its_open_episode(
        self, app: FakeApp
    ) -> None:
        flow = result(app, value="6.8")
        [critical_id] = flow["critical_ids"]
        amend(app, flow["result_id"], "4.2", user="tech-1", reason="haemolysed, re-run")
        [amended] = app.uow.events(ResultAmended)
        assert (amended.flag, amended.superseded_critical_ids) == ("N", [critical_id])
        [episode] = app.load(Result, flow["result_id"]).criticals
        assert episode.status == "superseded"
        assert episode.superseded_reason == "amendment 1: haemolysed, re-run"
        assert episode.superseded_at == app.clock.now()

    def test_a_superseded_episode_can_be_neither_escalated_nor_acknowledged(
        self, app: FakeApp
    ) -> None:
        flow = result(app, value="6.8")
        amend(app, flow["result_id"], "4.2", user="tech-1")
        before = len(app.uow.committed)
        with pytest.raises(CriticalValueClosed) as err:
            app.handle(
                EscalateCriticalValue(organization_id=ORG, result_id=flow["result_id"], tier=1)
            )
        assert err.value.state == "superseded"
        with pytest.raises(CriticalValueClosed):
            acknowledge(app, flow["result_id"], critical_id=flow["critical_ids"][0])
        assert len(app.uow.committed) == before

    def test_amending_critical_to_critical_closes_the_old_episode_and_opens_one(
        self, app: FakeApp
    ) -> None:
        flow = result(app, value="6.8")
        outcome = amend(app, flow["result_id"], "7.1", user="tech-1")
        first, second = outcome["critical_ids"]
        assert first == flow["critical_ids"][0]
        episodes = {e.critical_id: e.status for e in app.load(Result, flow["result_id"]).criticals}
        assert episodes == {first: "superseded", second: "open"}
        assert app.uow.events(ResultAmended)[0].superseded_critical_ids == [first]
        assert app.uow.event_types()[-2:] == ["RESULT_AMENDED", "CRITICAL_VALUE_DETECTED"]
        with pytest.raises(CriticalValueClosed):
            app.handle(
                EscalateCriticalValue(
                    organization_id=ORG, result_id=flow["result_id"], tier=1, critical_id=first
                )
            )
        acknowledge(app, flow["result_id"])  # the latest, open episode
        assert app.uow.events(CriticalValueAcknowledged)[0].critical_id == second

    def test_an_acknowledged_episode_stays_acknowledged_through_an_amendment(
        self, app: FakeApp
    ) -> None:
        flow = result(app, value="6.8")
        acknowledge(app, flow["result_id"])
        amend(app, flow["result_id"], "4.2", user="tech-1")
        assert app.uow.events(ResultAmended)[0].superseded_critical_ids == []
        [episode] = app.load(Result, flow["result_id"]).criticals
        assert episode.status == "acknowledged"


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
        with pytest.raises(CriticalValueClosed) as err:
            app.handle(
                EscalateCriticalValue(organization_id=ORG, result_id=flow["result_id"], tier=1)
            )
        assert err.value.state == "acknowledged"

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


def test_results_can_be_looked_up_by_sample_and_test(app: FakeApp) -> None:
    flow = result(app)
    with app.uow as uow:
        found = uow.repository(Result).list_by(
            ORG, sample_id=flow["sample_id"], loinc_code=POTASSIUM
        )
    assert [r.id for r in found] == [flow["result_id"]]
    assert "loinc_code" in Result.lookup_fields
