"""Patient command handlers: load, call the aggregate, add if new. The bus commits."""

from __future__ import annotations

from typing import TypeVar

from domains.patient.commands import DeletePatient, RegisterPatient, UpdatePatient
from domains.patient.identifiers import normalize_aadhaar
from domains.patient.model import Demographics, DuplicatePatient, Patient, duplicate_key
from domains.patient.ports import AadhaarVault, MrnSource
from domains.shared.clock import Clock
from domains.shared.errors import Conflict
from domains.shared.ids import new_id
from domains.shared.uow import AbstractUnitOfWork, Outcome


def register_patient(
    cmd: RegisterPatient,
    uow: AbstractUnitOfWork,
    *,
    mrn_source: MrnSource,
    vault: AadhaarVault,
    clock: Clock,
) -> Outcome:
    demographics = Demographics.validated(
        family_name=cmd.family_name,
        given_name=cmd.given_name,
        date_of_birth=cmd.date_of_birth,
        sex=cmd.sex,
        mobile=cmd.mobile,
        email=cmd.email,
        today=clock.today(),
    )
    if cmd.aadhaar:  # every input check comes before an MRN is drawn: no number is wasted
        normalize_aadhaar(cmd.aadhaar)
    patients = uow.repository(Patient)
    if not cmd.allow_duplicate:
        _check_not_duplicate(uow, cmd.organization_id, demographics)
    mrn = mrn_source.next_mrn(cmd.organization_id)
    if patients.find_by(cmd.organization_id, mrn=mrn) is not None:
        raise Conflict(f"MRN {mrn} is already in use in this organization")
    patient = Patient.register(
        id=new_id(),
        organization_id=cmd.organization_id,
        mrn=mrn,
        demographics=demographics,
        aadhaar=cmd.aadhaar,
        vault=vault,
    )
    patients.add(patient)
    return {"patient_id": patient.id, "mrn": mrn}


def update_patient(
    cmd: UpdatePatient, uow: AbstractUnitOfWork, *, vault: AadhaarVault, clock: Clock
) -> Outcome:
    patient = uow.repository(Patient).get(cmd.organization_id, cmd.patient_id)
    old = patient.demographics
    demographics = Demographics.validated(
        family_name=_pick(cmd.family_name, old.family_name),
        given_name=_pick(cmd.given_name, old.given_name),
        date_of_birth=_pick(cmd.date_of_birth, old.date_of_birth),
        sex=_pick(cmd.sex, old.sex),
        mobile=_pick(cmd.mobile, old.mobile),
        email=_pick(cmd.email, old.email),
        today=clock.today(),
    )
    changed = patient.update(demographics, aadhaar=cmd.aadhaar, vault=vault)
    return {"patient_id": patient.id, "mrn": patient.mrn, "changed_fields": changed}


def delete_patient(cmd: DeletePatient, uow: AbstractUnitOfWork) -> Outcome:
    patient = uow.repository(Patient).get(cmd.organization_id, cmd.patient_id)
    patient.delete(cmd.reason)
    return {"patient_id": patient.id, "mrn": patient.mrn}


T = TypeVar("T")


def _pick(new: T | None, old: T) -> T:
    return old if new is None else new


def _check_not_duplicate(uow: AbstractUnitOfWork, organization_id: str, d: Demographics) -> None:
    key = duplicate_key(d)
    if key is None:
        return
    for existing in uow.repository(Patient).list_by(organization_id, duplicate_key=key):
        if not existing.is_deleted:
            raise DuplicatePatient(existing.id, existing.mrn)
