"""Crypto-shredding (issue 12): patient events carry the names and date of birth sealed with the
patient's own key; once that key is destroyed, no copy of them can be opened."""

from __future__ import annotations

import json
from datetime import date

import pytest

from domains.patient.commands import UpdatePatient
from domains.patient.events import PatientCreated, PatientUpdated
from domains.shared.errors import Conflict
from tests.unit.domains.conftest import ORG, register
from tests.unit.fakes import FakeApp


def opened(app: FakeApp, patient_id: str, token: str | None) -> dict[str, str] | None:
    assert token is not None
    plain = app.keyring.open(ORG, patient_id, token)
    return None if plain is None else dict(json.loads(plain))


def test_patient_events_carry_the_names_and_birth_date_sealed_with_the_patients_key(
    app: FakeApp,
) -> None:
    patient_id = register(app)["patient_id"]
    app.handle(
        UpdatePatient(organization_id=ORG, patient_id=patient_id, date_of_birth=date(1985, 3, 15))
    )
    [created] = app.uow.events(PatientCreated)
    [updated] = app.uow.events(PatientUpdated)
    assert created.sealed_phi is not None
    assert "Sharma" not in created.sealed_phi
    assert opened(app, patient_id, created.sealed_phi) == {
        "family_name": "Sharma",
        "given_name": "Priya",
        "date_of_birth": "1985-03-14",
    }
    assert opened(app, patient_id, updated.sealed_phi) == {
        "family_name": "Sharma",
        "given_name": "Priya",
        "date_of_birth": "1985-03-15",
    }


def test_after_shredding_no_sealed_copy_opens_and_nothing_more_is_sealed(app: FakeApp) -> None:
    patient_id = register(app)["patient_id"]
    other_id = register(app, given_name="Anil", sex="male")["patient_id"]
    [mine, other] = app.uow.events(PatientCreated)
    assert app.keyring.shred(ORG, patient_id) is True
    assert opened(app, patient_id, mine.sealed_phi) is None
    assert opened(app, other_id, other.sealed_phi) is not None  # one patient's key, not all
    with pytest.raises(Conflict):
        app.handle(UpdatePatient(organization_id=ORG, patient_id=patient_id, sex="other"))
    assert app.keyring.shred(ORG, patient_id) is False
