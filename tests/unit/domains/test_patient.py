from __future__ import annotations

from datetime import date

import pytest

from domains.patient.commands import DeletePatient, RegisterPatient, UpdatePatient
from domains.patient.events import PatientCreated, PatientDeleted, PatientUpdated
from domains.patient.model import DuplicatePatient, Patient
from domains.shared.check_digits import luhn_valid
from domains.shared.errors import (
    ConcurrencyConflict,
    IllegalTransition,
    InvalidInput,
    NotFound,
)
from tests.unit.domains.conftest import AADHAAR, ORG, register
from tests.unit.fakes import FakeApp


class TestRegisteringAPatient:
    def test_a_new_patient_gets_a_luhn_checked_mrn_and_one_created_event(
        self, app: FakeApp
    ) -> None:
        outcome = register(app)
        assert luhn_valid(outcome["mrn"])
        [created] = app.uow.events(PatientCreated)
        assert created.mrn == outcome["mrn"]
        assert created.patient_id == outcome["patient_id"]
        assert created.mobile_masked == "+91XXXXXX3210"

    def test_mrns_are_unique_within_an_organization(self, app: FakeApp) -> None:
        first = register(app)["mrn"]
        second = register(app, given_name="Anil", sex="male")["mrn"]
        assert first != second

    def test_aadhaar_is_stored_only_as_a_vault_token_and_published_masked(
        self, app: FakeApp
    ) -> None:
        patient_id = register(app, aadhaar="2345 6789 0124")["patient_id"]
        patient = app.load(Patient, patient_id)
        assert patient.aadhaar_token
        assert AADHAAR not in patient.aadhaar_token
        assert app.vault.decrypt(patient.aadhaar_token) == AADHAAR
        assert app.uow.events(PatientCreated)[0].aadhaar_masked == "XXXX-XXXX-0124"
        assert AADHAAR not in repr(app.uow.committed)

    def test_the_mobile_is_stored_in_e164_but_never_published_in_the_clear(
        self, app: FakeApp
    ) -> None:
        patient_id = register(app, mobile="09876543210")["patient_id"]
        assert app.load(Patient, patient_id).demographics.mobile == "+919876543210"
        assert "9876543210" not in repr(app.uow.committed)

    def test_same_name_any_case_dob_and_mobile_is_a_duplicate_naming_the_mrn(
        self, app: FakeApp
    ) -> None:
        mrn = register(app)["mrn"]
        with pytest.raises(DuplicatePatient) as err:
            register(app, family_name="SHARMA", given_name="priya")
        assert err.value.existing_mrn == mrn
        assert mrn in str(err.value)
        assert len(app.uow.events(PatientCreated)) == 1

    def test_a_confirmed_different_person_may_share_the_details(self, app: FakeApp) -> None:
        register(app)
        register(app, allow_duplicate=True)
        assert len(app.uow.events(PatientCreated)) == 2

    def test_a_deleted_patient_does_not_count_as_a_duplicate(self, app: FakeApp) -> None:
        patient_id = register(app)["patient_id"]
        app.handle(DeletePatient(organization_id=ORG, patient_id=patient_id))
        register(app)
        assert len(app.uow.events(PatientCreated)) == 2

    def test_patients_of_another_organization_are_invisible(self, app: FakeApp) -> None:
        patient_id = register(app)["patient_id"]
        with pytest.raises(NotFound):
            app.handle(DeletePatient(organization_id="org-2", patient_id=patient_id))


class TestUpdatingAPatient:
    def test_an_update_publishes_the_changed_fields_and_the_whole_state(self, app: FakeApp) -> None:
        patient_id = register(app)["patient_id"]
        outcome = app.handle(
            UpdatePatient(
                organization_id=ORG,
                patient_id=patient_id,
                email="p.sharma@example.in",
                aadhaar=AADHAAR,
            )
        )
        assert outcome["changed_fields"] == ["email", "aadhaar"]
        [updated] = app.uow.events(PatientUpdated)
        assert updated.family_name == "Sharma"
        assert updated.aadhaar_masked == "XXXX-XXXX-0124"

    def test_an_update_that_changes_nothing_records_no_event(self, app: FakeApp) -> None:
        patient_id = register(app)["patient_id"]
        app.handle(UpdatePatient(organization_id=ORG, patient_id=patient_id, given_name="Priya"))
        assert app.uow.events(PatientUpdated) == []

    def test_an_empty_string_clears_an_optional_contact(self, app: FakeApp) -> None:
        patient_id = register(app)["patient_id"]
        app.handle(UpdatePatient(organization_id=ORG, patient_id=patient_id, email=""))
        assert app.load(Patient, patient_id).demographics.email is None

    def test_a_deleted_patient_cannot_be_updated(self, app: FakeApp) -> None:
        patient_id = register(app)["patient_id"]
        app.handle(DeletePatient(organization_id=ORG, patient_id=patient_id, reason="merged"))
        with pytest.raises(IllegalTransition):
            app.handle(UpdatePatient(organization_id=ORG, patient_id=patient_id, sex="other"))
        assert app.uow.events(PatientDeleted)[0].reason == "merged"

    def test_two_writers_on_one_patient_one_loses_with_a_concurrency_conflict(
        self, app: FakeApp
    ) -> None:
        patient_id = register(app)["patient_id"]
        with app.uow.fork() as other:
            stale = other.repository(Patient).get(ORG, patient_id)
            stale.delete("stale writer")
            app.handle(
                UpdatePatient(
                    organization_id=ORG, patient_id=patient_id, date_of_birth=date(1985, 3, 15)
                )
            )
            with pytest.raises(ConcurrencyConflict):
                other.commit(DeletePatient(organization_id=ORG, patient_id=patient_id), {})
        assert app.uow.events(PatientDeleted) == []


class TestPhiStaysOutOfReprsAndEvents:
    MOBILE, EMAIL = "+91 98765 43210", "priya.sharma@example.in"

    def _assert_no_phi(self, text: str) -> None:
        for secret in ("98765", "43210", "2345", "6789", "0124", "priya.sharma", "1985"):
            assert secret not in text, secret

    def test_patient_commands_leave_phi_out_of_their_repr(self) -> None:
        fields = {
            "organization_id": ORG,
            "family_name": "Sharma",
            "given_name": "Priya",
            "date_of_birth": date(1985, 3, 14),
            "sex": "female",
            "mobile": self.MOBILE,
            "email": self.EMAIL,
            "aadhaar": "2345 6789 0124",
        }
        register_cmd = RegisterPatient(**fields)  # type: ignore[arg-type]
        update_cmd = UpdatePatient(patient_id="p-1", **fields)  # type: ignore[arg-type]
        for command in (register_cmd, update_cmd):
            text = repr(command)
            self._assert_no_phi(text)
            assert "Sharma" not in text
            assert "female" in text  # the repr is still useful

    def test_demographics_leave_phi_out_of_their_repr(self, app: FakeApp) -> None:
        patient_id = register(app, mobile=self.MOBILE, email=self.EMAIL)["patient_id"]
        demographics = app.load(Patient, patient_id).demographics
        assert demographics.mobile == "+919876543210"
        self._assert_no_phi(repr(demographics))

    def test_a_traceback_of_a_refused_registration_shows_no_phi(self, app: FakeApp) -> None:
        command = RegisterPatient(
            organization_id=ORG,
            family_name="Sharma",
            given_name="Priya",
            date_of_birth=date(1985, 3, 14),
            sex="female",
            mobile=self.MOBILE,
            email="priya.sharma@",
        )
        with pytest.raises(InvalidInput) as err:
            app.handle(command)
        assert err.value.field == "email"
        self._assert_no_phi(str(err.value) + repr(command))

    def test_the_email_is_published_masked_on_create_and_update(self, app: FakeApp) -> None:
        patient_id = register(app, email=self.EMAIL)["patient_id"]
        app.handle(
            UpdatePatient(organization_id=ORG, patient_id=patient_id, email="p.s@example.in")
        )
        [created] = app.uow.events(PatientCreated)
        [updated] = app.uow.events(PatientUpdated)
        assert created.email_masked == "p***@example.in"
        assert updated.email_masked == "p***@example.in"
        assert "priya.sharma@" not in repr(app.uow.committed)
        assert "p.s@" not in repr(app.uow.committed)
