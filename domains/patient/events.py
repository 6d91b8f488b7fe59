"""Patient events (topic ``lis.patient.events``). Never the Aadhaar, a mobile or an email in the
clear: only their masked forms."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from domains.shared.messages import Event


@dataclass(frozen=True, kw_only=True)
class PatientCreated(Event):
    event_type = "PATIENT_CREATED"
    aggregate_type = "Patient"

    patient_id: str
    mrn: str
    family_name: str
    given_name: str
    date_of_birth: date
    sex: str  # male | female | other | unknown
    mobile_masked: str | None = None  # "+91XXXXXX3210"
    email_masked: str | None = None  # "p***@example.in"
    aadhaar_masked: str | None = None  # "XXXX-XXXX-1234"
    # names and date of birth sealed with the patient's own key (crypto-shredding: once the
    # key is destroyed this copy is unreadable); the clear fields above stay while consumers
    # move over, since an Avro field cannot be removed (see README, "Erasing a patient")
    sealed_phi: str | None = None


@dataclass(frozen=True, kw_only=True)
class PatientUpdated(Event):
    """Carries the whole demographic state after the change, so read models need no merge."""

    event_type = "PATIENT_UPDATED"
    aggregate_type = "Patient"

    patient_id: str
    mrn: str
    family_name: str
    given_name: str
    date_of_birth: date
    sex: str
    changed_fields: list[str] = field(default_factory=list)
    mobile_masked: str | None = None
    email_masked: str | None = None
    aadhaar_masked: str | None = None
    sealed_phi: str | None = None  # as on PatientCreated


@dataclass(frozen=True, kw_only=True)
class PatientDeleted(Event):
    """A soft delete: the record stays for the audit trail but takes no new orders."""

    event_type = "PATIENT_DELETED"
    aggregate_type = "Patient"

    patient_id: str
    mrn: str
    reason: str | None = None
