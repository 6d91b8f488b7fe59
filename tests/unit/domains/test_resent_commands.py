"""A resend is the same request again (issue 12): the same body gets the first outcome, another
body under the same placer order number or command id is a conflict naming what differs."""

from __future__ import annotations

from datetime import date

import pytest

from domains.order.commands import PlaceOrder
from domains.order.events import OrderCreated
from domains.order.model import Order
from domains.patient.commands import RegisterPatient
from domains.patient.events import PatientCreated
from domains.shared.errors import Conflict
from tests.unit.domains.conftest import ORG, POTASSIUM, SODIUM, register
from tests.unit.fakes import FakeApp


def place(patient_id: str, **overrides: object) -> PlaceOrder:
    fields: dict[str, object] = {
        "organization_id": ORG,
        "patient_id": patient_id,
        "placer_order_number": "HIS-77",
        "loinc_codes": [POTASSIUM],
        "priority": "routine",
        "ordering_clinician_name": "Dr. Rao",
        "ordering_clinician_contact": "9876500001",
    }
    return PlaceOrder(**{**fields, **overrides})  # type: ignore[arg-type]


class TestAResentPlacerOrderNumber:
    def test_the_same_body_returns_the_first_order(self, app: FakeApp) -> None:
        patient_id = register(app)["patient_id"]
        first = app.handle(place(patient_id))
        again = app.handle(place(patient_id, ordering_clinician_contact="+91 98765 00001"))
        assert again == {**first, "created": False}
        assert len(app.uow.events(OrderCreated)) == 1

    def test_a_routine_order_resent_as_stat_is_a_conflict_naming_the_priority(
        self, app: FakeApp
    ) -> None:
        patient_id = register(app)["patient_id"]
        order_id = app.handle(place(patient_id))["order_id"]
        with pytest.raises(Conflict) as err:
            app.handle(place(patient_id, priority="stat"))
        assert "priority" in str(err.value)
        assert "loinc_codes" not in str(err.value)
        assert app.load(Order, order_id).priority == "routine"

    def test_other_tests_under_the_same_number_are_a_conflict_naming_them(
        self, app: FakeApp
    ) -> None:
        patient_id = register(app)["patient_id"]
        app.handle(place(patient_id))
        with pytest.raises(Conflict, match="loinc_codes"):
            app.handle(place(patient_id, loinc_codes=[POTASSIUM, SODIUM]))


def _register(command_id: str, given_name: str) -> RegisterPatient:
    return RegisterPatient(
        organization_id=ORG,
        user_id="desk-1",
        command_id=command_id,
        family_name="Rao",
        given_name=given_name,
        date_of_birth=date(1990, 1, 2),
        sex="male",
    )


class TestAReusedCommandId:
    def test_the_same_payload_replays_the_first_outcome(self, app: FakeApp) -> None:
        first = app.handle(_register("cmd-1", "Vikram"))
        assert app.handle(_register("cmd-1", "Vikram")) == first

    def test_another_payload_under_the_same_command_id_is_a_conflict(self, app: FakeApp) -> None:
        app.handle(_register("cmd-1", "Vikram"))
        with pytest.raises(Conflict, match=r"command id cmd-1 .* different payload"):
            app.handle(_register("cmd-1", "Arjun"))
        assert [e.given_name for e in app.uow.events(PatientCreated)] == ["Vikram"]

    def test_a_new_correlation_id_on_a_resend_is_still_the_same_command(self, app: FakeApp) -> None:
        first = app.handle(_register("cmd-1", "Vikram"))
        resend = RegisterPatient(
            **{**_register("cmd-1", "Vikram").__dict__, "correlation_id": "retry-2"}
        )
        assert app.handle(resend) == first

    def test_a_command_logged_before_fingerprints_still_replays(self, app: FakeApp) -> None:
        first = app.handle(_register("cmd-1", "Vikram"))
        logged = app.uow.commands[(ORG, "cmd-1")]
        app.uow.commands[(ORG, "cmd-1")] = type(logged)(logged.command_type, logged.outcome)
        assert app.handle(_register("cmd-1", "Arjun")) == first
