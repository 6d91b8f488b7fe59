"""Who a patient is (issue 12): one Aadhaar is one person, a likely duplicate is caught with or
without a mobile and on corrections too, and people with a single name can register."""

from __future__ import annotations

from datetime import date

import pytest

from domains.patient.commands import DeletePatient, RegisterPatient, UpdatePatient
from domains.patient.events import PatientCreated
from domains.patient.model import DuplicateIdentifier, DuplicatePatient, Patient
from domains.shared.errors import InvalidInput
from tests.unit.domains.conftest import AADHAAR, ORG, register
from tests.unit.fakes import FakeApp

OTHER_AADHAAR = "499118665246"  # valid Verhoeff check digit


class TestOneAadhaarIsOnePerson:
    def test_the_same_aadhaar_cannot_be_registered_to_a_second_patient(self, app: FakeApp) -> None:
        first = register(app, aadhaar=AADHAAR)
        with pytest.raises(DuplicateIdentifier) as err:
            register(app, given_name="Anil", family_name="Verma", sex="male", aadhaar=AADHAAR)
        assert (err.value.field, err.value.existing_mrn) == ("aadhaar", first["mrn"])
        assert AADHAAR not in str(err.value)
        assert len(app.uow.events(PatientCreated)) == 1

    def test_spacing_does_not_make_an_aadhaar_another_number(self, app: FakeApp) -> None:
        register(app, aadhaar=AADHAAR)
        with pytest.raises(DuplicateIdentifier):
            register(app, given_name="Anil", sex="male", aadhaar="2345 6789-0124")

    def test_the_desk_cannot_confirm_two_people_onto_one_aadhaar(self, app: FakeApp) -> None:
        register(app, aadhaar=AADHAAR)
        with pytest.raises(DuplicateIdentifier):
            register(app, given_name="Anil", sex="male", aadhaar=AADHAAR, allow_duplicate=True)

    def test_an_update_cannot_give_a_patient_another_patients_aadhaar(self, app: FakeApp) -> None:
        register(app, aadhaar=AADHAAR)
        other = register(app, given_name="Anil", sex="male", aadhaar=OTHER_AADHAAR)
        with pytest.raises(DuplicateIdentifier):
            app.handle(
                UpdatePatient(organization_id=ORG, patient_id=other["patient_id"], aadhaar=AADHAAR)
            )
        assert app.load(Patient, other["patient_id"]).aadhaar_last4 == OTHER_AADHAAR[-4:]

    def test_a_patient_keeps_their_own_aadhaar_on_update(self, app: FakeApp) -> None:
        patient_id = register(app, aadhaar=AADHAAR)["patient_id"]
        outcome = app.handle(
            UpdatePatient(
                organization_id=ORG, patient_id=patient_id, aadhaar=AADHAAR, email="a@b.in"
            )
        )
        assert outcome["changed_fields"] == ["email"]

    def test_a_deleted_charts_aadhaar_may_be_registered_again(self, app: FakeApp) -> None:
        old = register(app, aadhaar=AADHAAR)["patient_id"]
        app.handle(DeletePatient(organization_id=ORG, patient_id=old, reason="merged"))
        register(app, given_name="Priya", aadhaar=AADHAAR)
        assert len(app.uow.events(PatientCreated)) == 2

    def test_the_stored_index_is_a_keyed_hash_not_the_number(self, app: FakeApp) -> None:
        patient_id = register(app, aadhaar=AADHAAR)["patient_id"]
        patient = app.load(Patient, patient_id)
        assert patient.aadhaar_index == app.index.blind_index("aadhaar", AADHAAR)
        assert AADHAAR not in str(patient.snapshot())


class TestLikelyDuplicates:
    def test_same_name_and_date_of_birth_without_a_mobile_is_a_likely_duplicate(
        self, app: FakeApp
    ) -> None:
        first = register(app, mobile=None)
        with pytest.raises(DuplicatePatient) as err:
            register(app, mobile=None)
        assert err.value.existing_mrn == first["mrn"]

    def test_a_correction_that_makes_a_chart_match_another_is_caught(self, app: FakeApp) -> None:
        register(app)  # Priya Sharma, 1985-03-14
        other = register(app, given_name="Priyanka")["patient_id"]
        with pytest.raises(DuplicatePatient):
            app.handle(UpdatePatient(organization_id=ORG, patient_id=other, given_name="Priya"))
        app.handle(
            UpdatePatient(
                organization_id=ORG, patient_id=other, given_name="Priya", allow_duplicate=True
            )
        )
        assert app.load(Patient, other).demographics.given_name == "Priya"

    def test_an_update_of_other_fields_does_not_trip_over_an_accepted_duplicate(
        self, app: FakeApp
    ) -> None:
        register(app)
        twin = register(app, allow_duplicate=True)["patient_id"]
        app.handle(UpdatePatient(organization_id=ORG, patient_id=twin, email="twin@example.in"))


class TestSingleNames:
    @pytest.mark.parametrize(("family", "given"), [("", "Selvi"), ("Murugan", "")])
    def test_a_patient_with_a_single_name_can_register(
        self, app: FakeApp, family: str, given: str
    ) -> None:
        patient_id = register(app, family_name=family, given_name=given)["patient_id"]
        [created] = app.uow.events(PatientCreated)
        assert (created.family_name, created.given_name) == (family, given)
        assert app.load(Patient, patient_id).demographics.family_name == family

    def test_a_patient_needs_at_least_one_name(self, app: FakeApp) -> None:
        with pytest.raises(InvalidInput) as err:
            register(app, family_name=" ", given_name="")
        assert err.value.field == "given_name"

    def test_a_single_name_is_checked_like_any_name(self, app: FakeApp) -> None:
        with pytest.raises(InvalidInput) as err:
            app.handle(
                RegisterPatient(
                    organization_id=ORG,
                    family_name="",
                    given_name="S3lvi",
                    date_of_birth=date(1990, 1, 1),
                    sex="female",
                )
            )
        assert err.value.field == "given_name"
