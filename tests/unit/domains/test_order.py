from __future__ import annotations

import pytest

from domains.order.commands import CancelOrder, CompleteOrder, ConfirmOrder, PlaceOrder
from domains.order.events import OrderCancelled, OrderCompleted, OrderCreated
from domains.order.model import Order
from domains.patient.commands import DeletePatient
from domains.result.commands import EnterResult, VerifyResult
from domains.result.events import ResultEntered
from domains.shared.errors import Conflict, IllegalTransition, NotFound
from tests.unit.domains.conftest import (
    ORG,
    POTASSIUM,
    SODIUM,
    order,
    received_sample,
    register,
    result,
)
from tests.unit.fakes import FakeApp


class TestPlacingAnOrder:
    def test_an_order_lists_its_tests_as_the_catalog_describes_them(self, app: FakeApp) -> None:
        patient = register(app)
        order(app, patient["patient_id"], POTASSIUM, SODIUM, confirm=False)
        [created] = app.uow.events(OrderCreated)
        assert [t.loinc_code for t in created.tests] == [POTASSIUM, SODIUM]
        assert created.tests[0].container == "SST (gold)"
        assert created.mrn == patient["mrn"]
        assert created.catalog_version == app.catalog.version
        assert created.ordering_clinician_contact_masked == "+91XXXXXX0001"

    def test_the_same_placer_number_returns_the_same_order_without_a_new_event(
        self, app: FakeApp
    ) -> None:
        patient_id = register(app)["patient_id"]
        first = order(app, patient_id, confirm=False, placer_order_number="HIS-1")
        again = app.handle(
            PlaceOrder(
                organization_id=ORG,
                patient_id=patient_id,
                placer_order_number="HIS-1",
                loinc_codes=[POTASSIUM],
                ordering_clinician_name="Dr. Rao",
            )
        )
        assert again == {"order_id": first, "placer_order_number": "HIS-1", "created": False}
        assert len(app.uow.events(OrderCreated)) == 1

    def test_the_same_placer_number_for_another_patient_is_a_conflict(self, app: FakeApp) -> None:
        patient_id = register(app)["patient_id"]
        other = register(app, given_name="Anil", sex="male")["patient_id"]
        order(app, patient_id, placer_order_number="HIS-1")
        with pytest.raises(Conflict):
            order(app, other, placer_order_number="HIS-1")

    def test_a_deleted_patient_cannot_be_ordered_for(self, app: FakeApp) -> None:
        patient_id = register(app)["patient_id"]
        app.handle(DeletePatient(organization_id=ORG, patient_id=patient_id))
        with pytest.raises(Conflict):
            order(app, patient_id)
        assert app.uow.events(OrderCreated) == []

    def test_an_unknown_patient_is_not_found(self, app: FakeApp) -> None:
        with pytest.raises(NotFound):
            order(app, "no-such-patient")


class TestCancellingAnOrder:
    def test_a_confirmed_order_can_be_cancelled_with_a_reason(self, app: FakeApp) -> None:
        order_id = order(app, register(app)["patient_id"])
        app.handle(CancelOrder(organization_id=ORG, order_id=order_id, reason="duplicate"))
        assert app.uow.events(OrderCancelled)[0].reason == "duplicate"
        assert app.load(Order, order_id).status == "cancelled"

    def test_an_order_with_a_verified_result_cannot_be_cancelled(self, app: FakeApp) -> None:
        flow = result(app, verify=True)
        with pytest.raises(IllegalTransition):
            app.handle(CancelOrder(organization_id=ORG, order_id=flow["order_id"], reason="x"))

    def test_a_cancelled_order_cannot_be_confirmed(self, app: FakeApp) -> None:
        order_id = order(app, register(app)["patient_id"], confirm=False)
        app.handle(CancelOrder(organization_id=ORG, order_id=order_id, reason="wrong patient"))
        with pytest.raises(IllegalTransition):
            app.handle(ConfirmOrder(organization_id=ORG, order_id=order_id))


class TestCompletingAnOrder:
    def test_an_order_completes_when_every_test_has_a_verified_result(self, app: FakeApp) -> None:
        flow = result(app, verify=True)
        app.handle(CompleteOrder(organization_id=ORG, order_id=flow["order_id"]))
        [completed] = app.uow.events(OrderCompleted)
        assert completed.result_ids == [flow["result_id"]]

    def test_an_order_with_an_unverified_test_cannot_complete(self, app: FakeApp) -> None:
        order_id = order(app, register(app)["patient_id"], POTASSIUM, SODIUM)
        sample_id = received_sample(app, order_id)
        for code in (POTASSIUM, SODIUM):
            app.handle(
                EnterResult(
                    organization_id=ORG,
                    user_id="tech-1",
                    sample_id=sample_id,
                    loinc_code=code,
                    value_text="4",
                    unit="mmol/L",
                )
            )
        [first, _] = [e.result_id for e in app.uow.events(ResultEntered)]
        app.handle(VerifyResult(organization_id=ORG, user_id="path-1", result_id=first))
        with pytest.raises(IllegalTransition) as err:
            app.handle(CompleteOrder(organization_id=ORG, order_id=order_id))
        assert SODIUM in str(err.value)
        assert app.uow.events(OrderCompleted) == []
