"""Patient command handlers: load, call the aggregate, add if new. The bus commits."""

from __future__ import annotations

from datetime import date, datetime
from typing import TypeVar

from domains.catalog.model import Catalog
from domains.order.model import Order
from domains.patient.commands import DeletePatient, RegisterPatient, UpdatePatient
from domains.patient.identifiers import normalize_aadhaar
from domains.patient.model import (
    Demographics,
    DuplicateIdentifier,
    DuplicatePatient,
    Patient,
    aadhaar_index,
    duplicate_key,
)
from domains.patient.ports import AadhaarVault, IdentifierIndex, MrnSource, PatientKeyring
from domains.result.model import Result
from domains.shared.clock import Clock, local_date
from domains.shared.errors import Conflict
from domains.shared.ids import new_id
from domains.shared.policy import PolicySource
from domains.shared.uow import AbstractUnitOfWork, Outcome


def register_patient(
    cmd: RegisterPatient,
    uow: AbstractUnitOfWork,
    *,
    mrn_source: MrnSource,
    vault: AadhaarVault,
    index: IdentifierIndex,
    keyring: PatientKeyring,
    clock: Clock,
    policies: PolicySource,
) -> Outcome:
    demographics = Demographics.validated(
        family_name=cmd.family_name,
        given_name=cmd.given_name,
        date_of_birth=cmd.date_of_birth,
        sex=cmd.sex,
        mobile=cmd.mobile,
        email=cmd.email,
        today=_lab_today(clock, policies, cmd.organization_id),
    )
    # every input check comes before an MRN is drawn: no number is wasted
    digits = normalize_aadhaar(cmd.aadhaar) if cmd.aadhaar else None
    patients = uow.repository(Patient)
    _check_identifiers_free(uow, cmd.organization_id, digits, index, patient_id=None)
    if not cmd.allow_duplicate:
        _check_not_duplicate(uow, cmd.organization_id, demographics, patient_id=None)
    mrn = mrn_source.next_mrn(cmd.organization_id)
    if patients.find_by(cmd.organization_id, mrn=mrn) is not None:
        raise Conflict(f"MRN {mrn} is already in use in this organization")
    patient = Patient.register(
        id=new_id(),
        organization_id=cmd.organization_id,
        mrn=mrn,
        demographics=demographics,
        aadhaar=digits,
        vault=vault,
        index=index,
        keyring=keyring,
    )
    patients.add(patient)
    return {"patient_id": patient.id, "mrn": mrn}


def update_patient(
    cmd: UpdatePatient,
    uow: AbstractUnitOfWork,
    *,
    vault: AadhaarVault,
    index: IdentifierIndex,
    keyring: PatientKeyring,
    catalog: Catalog,
    clock: Clock,
    policies: PolicySource,
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
        today=_lab_today(clock, policies, cmd.organization_id),
    )
    # a correction can make two charts one person's as surely as a registration can
    digits = normalize_aadhaar(cmd.aadhaar) if cmd.aadhaar else None
    _check_identifiers_free(uow, cmd.organization_id, digits, index, patient_id=patient.id)
    if not cmd.allow_duplicate and duplicate_key(demographics) != patient.duplicate_key:
        _check_not_duplicate(uow, cmd.organization_id, demographics, patient_id=patient.id)
    changed = patient.update(
        demographics, aadhaar=cmd.aadhaar, vault=vault, index=index, keyring=keyring
    )
    policy = policies.policy_for(cmd.organization_id)
    _reinterpret_results(
        uow,
        patient,
        changed,
        catalog=catalog,
        now=clock.now(),
        censored_at_bound=policy.censored_at_bound,
    )
    return {"patient_id": patient.id, "mrn": patient.mrn, "changed_fields": changed}


def _reinterpret_results(
    uow: AbstractUnitOfWork,
    patient: Patient,
    changed: list[str],
    *,
    catalog: Catalog,
    now: datetime,
    censored_at_bound: bool,
) -> None:
    """Reference ranges (and, by age, critical limits) follow sex and age: a correction of
    either reaches every result of the patient in the same transaction, so no result is
    flagged against the old demographics once the correction is saved."""
    corrected: list[str] = [f for f in ("sex", "date_of_birth") if f in changed]
    if not corrected:
        return
    d = patient.demographics
    for order in uow.repository(Order).list_by(patient.organization_id, patient_id=patient.id):
        for result in uow.repository(Result).list_by(patient.organization_id, order_id=order.id):
            result.reinterpret(
                test=catalog.get(result.loinc_code),
                sex=d.sex,
                date_of_birth=d.date_of_birth,
                changed_fields=corrected,
                now=now,
                catalog_version=catalog.version,
                censored_at_bound=censored_at_bound,
            )


def delete_patient(cmd: DeletePatient, uow: AbstractUnitOfWork) -> Outcome:
    patient = uow.repository(Patient).get(cmd.organization_id, cmd.patient_id)
    patient.delete(cmd.reason)
    return {"patient_id": patient.id, "mrn": patient.mrn}


T = TypeVar("T")


def _pick(new: T | None, old: T) -> T:
    return old if new is None else new


def _lab_today(clock: Clock, policies: PolicySource, organization_id: str) -> date:
    """The lab's calendar day: a newborn registered at 01:00 in Kolkata was born "today"
    there, while it is still yesterday in UTC."""
    return local_date(clock.now(), policies.policy_for(organization_id).zone)


def _check_identifiers_free(
    uow: AbstractUnitOfWork,
    organization_id: str,
    aadhaar_digits: str | None,
    index: IdentifierIndex,
    *,
    patient_id: str | None,
) -> None:
    """One Aadhaar, one person: refused whoever else (not deleted) holds it."""
    if aadhaar_digits is None:
        return
    holders = uow.repository(Patient).list_by(
        organization_id, aadhaar_index=aadhaar_index(aadhaar_digits, index)
    )
    for existing in holders:
        if existing.id != patient_id and not existing.is_deleted:
            raise DuplicateIdentifier("aadhaar", existing.id, existing.mrn)


def _check_not_duplicate(
    uow: AbstractUnitOfWork, organization_id: str, d: Demographics, *, patient_id: str | None
) -> None:
    for existing in uow.repository(Patient).list_by(
        organization_id, duplicate_key=duplicate_key(d)
    ):
        if existing.id != patient_id and not existing.is_deleted:
            raise DuplicatePatient(existing.id, existing.mrn)
