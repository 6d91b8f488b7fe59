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


def test_a_command_id_minted_for_this_call_skips_the_look_up_but_is_still_logged() -> None:
    app = FakeApp()
    looked_up: list[str] = []
    original = app.uow.logged_command

    def counting(organization_id: str, command_id: str) -> object:
        looked_up.append(command_id)
        return original(organization_id, command_id)

    app.uow.logged_command = counting  # type: ignore[method-assign,assignment]
    app.bus.handle(_register("org-1", "fresh-1", "Vikram"), fresh_id=True)
    assert looked_up == []
    again = app.bus.handle(_register("org-1", "fresh-1", "Vikram"))  # a retry looks it up
    assert looked_up == ["fresh-1"]
    assert again["mrn"] == app.uow.commands[("org-1", "fresh-1")].outcome["mrn"]
