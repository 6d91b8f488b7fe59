"""Re-sending a command: same organization gets the first outcome; another gets nothing of it."""

from __future__ import annotations

from datetime import date

from domains.patient.commands import RegisterPatient
from tests.unit.fakes import FakeApp


def _register(org: str, command_id: str, given: str) -> RegisterPatient:
    return RegisterPatient(
        organization_id=org,
        user_id="desk-1",
        command_id=command_id,
        family_name="Rao",
        given_name=given,
        date_of_birth=date(1990, 1, 2),
        sex="male",
    )


def test_resending_a_command_returns_the_first_outcome_and_records_no_new_event() -> None:
    app = FakeApp()
    first = app.handle(_register("org-1", "cmd-1", "Vikram"))
    events_after_first = len(app.uow.committed)

    again = app.handle(_register("org-1", "cmd-1", "Vikram"))

    assert again == first
    assert len(app.uow.committed) == events_after_first


def test_a_command_id_of_another_organization_does_not_return_its_outcome() -> None:
    app = FakeApp()
    theirs = app.handle(_register("org-1", "cmd-1", "Vikram"))

    mine = app.handle(_register("org-2", "cmd-1", "Arjun"))

    assert mine["patient_id"] != theirs["patient_id"]
