"""An API command that lost an optimistic-concurrency race (another writer saved the aggregate
between its read and its write) is decided again on fresh state, not answered 409 at once."""

from __future__ import annotations

from typing import Any

import pytest

from domains.patient.commands import DeletePatient
from domains.patient.model import Patient
from domains.shared.bus import MessageBus
from domains.shared.errors import ConcurrencyConflict
from domains.shared.messages import Command
from infra.http.command_routes import _handle
from tests.unit.domains.conftest import ORG, register
from tests.unit.fakes import FakeApp


class RacingBus(MessageBus):
    """The real bus, losing ``losses`` races first (as the Postgres unit of work raises them:
    nothing written, nothing logged)."""

    def __init__(self, app: FakeApp, losses: int) -> None:
        super().__init__(app.bus.uow_factory, app.bus.handlers)
        self.losses, self.calls = losses, 0

    def handle(self, command: Command, *, fresh_id: bool = False) -> dict[str, Any]:
        self.calls += 1
        if self.calls <= self.losses:
            raise ConcurrencyConflict("Patient", "p", 1)
        return super().handle(command, fresh_id=fresh_id)


def deactivate(app: FakeApp) -> tuple[Command, str]:
    patient_id = register(app)["patient_id"]
    return DeletePatient(organization_id=ORG, user_id="admin-1", patient_id=patient_id,
                         reason="duplicate chart"), patient_id  # fmt: skip


def test_a_race_lost_twice_is_won_on_the_third_try_with_one_effect() -> None:
    app = FakeApp()
    command, patient_id = deactivate(app)
    bus = RacingBus(app, losses=2)

    _handle(bus, command, True)

    assert bus.calls == 3
    assert app.load(Patient, patient_id).is_deleted


def test_a_command_that_keeps_losing_is_a_409_after_five_tries() -> None:
    app = FakeApp()
    command, patient_id = deactivate(app)
    bus = RacingBus(app, losses=99)

    with pytest.raises(ConcurrencyConflict):
        _handle(bus, command, True)

    assert bus.calls == 5
    assert not app.load(Patient, patient_id).is_deleted
