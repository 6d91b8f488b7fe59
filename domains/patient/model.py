"""Patient aggregate: demographics and identifiers, validated; Aadhaar kept only as a token."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field, fields
from datetime import date
from typing import Any, ClassVar, Self

from domains.patient import identifiers as ids
from domains.patient.events import PatientCreated, PatientDeleted, PatientUpdated
from domains.patient.ports import AadhaarVault, IdentifierIndex, PatientKeyring
from domains.shared import contacts
from domains.shared.aggregate import Aggregate
from domains.shared.errors import Conflict, InvalidInput

SEXES = ("male", "female", "other", "unknown")
MAX_AGE_YEARS = 150
# letters of any script, marks (Devanagari vowel signs), spaces, apostrophes, dots, hyphens
_NAME = re.compile(r"^[^\W\d_](?:[^\W\d_]|[\s.'\-])*$")


class DuplicatePatient(Conflict):
    """Someone with the same name and date of birth is already registered: very likely the
    same person (a second chart splits their history). The desk may confirm otherwise."""

    code = "duplicate_patient"

    def __init__(self, existing_patient_id: str, existing_mrn: str) -> None:
        super().__init__(
            f"patient already registered as MRN {existing_mrn} (same name and date of "
            "birth); pass allow_duplicate if this is another person"
        )
        self.existing_patient_id = existing_patient_id
        self.existing_mrn = existing_mrn

    def details(self) -> dict[str, str]:
        return {"existing_patient_id": self.existing_patient_id, "existing_mrn": self.existing_mrn}


class DuplicateIdentifier(Conflict):
    """An identifier that names one person (Aadhaar) is already another patient's. No desk
    confirmation overrides it: one number, one person."""

    code = "duplicate_identifier"

    def __init__(self, identifier: str, existing_patient_id: str, existing_mrn: str) -> None:
        super().__init__(f"{identifier}: already registered to MRN {existing_mrn}")
        self.field = identifier
        self.existing_patient_id = existing_patient_id
        self.existing_mrn = existing_mrn

    def details(self) -> dict[str, str]:
        return {"existing_patient_id": self.existing_patient_id, "existing_mrn": self.existing_mrn}


@dataclass(frozen=True)
class Demographics:
    """The validated, normalized fields a patient is registered or updated with. PHI stays
    out of the repr (tracebacks, logs)."""

    family_name: str = field(repr=False)
    given_name: str = field(repr=False)
    date_of_birth: date = field(repr=False)
    sex: str
    mobile: str | None = field(default=None, repr=False)  # E.164
    email: str | None = field(default=None, repr=False)

    @classmethod
    def validated(
        cls,
        *,
        family_name: str,
        given_name: str,
        date_of_birth: date,
        sex: str,
        mobile: str | None,
        email: str | None,
        today: date,
    ) -> Demographics:
        family, given = check_names(family_name, given_name)
        return cls(
            family_name=family,
            given_name=given,
            date_of_birth=check_date_of_birth(date_of_birth, today),
            sex=check_sex(sex),
            mobile=contacts.normalize_mobile(mobile) if mobile else None,
            email=contacts.normalize_email(email) if email else None,
        )


def check_names(family_name: str, given_name: str) -> tuple[str, str]:
    """Many people have one name only (common in South India): either name may be empty,
    not both."""
    family = _clean_name(family_name, "family_name")
    given = _clean_name(given_name, "given_name")
    if not family and not given:
        raise InvalidInput("given_name", "a patient needs a name (given or family, or both)")
    return family, given


def _clean_name(raw: str, field: str) -> str:
    name = " ".join(raw.split())
    if name and (len(name) > 100 or not _NAME.match(name)):
        raise InvalidInput(field, "must be 1-100 letters (spaces, . ' - allowed)")
    return name


def check_name(raw: str, field: str) -> str:
    name = _clean_name(raw, field)
    if not name:
        raise InvalidInput(field, "must be 1-100 letters (spaces, . ' - allowed)")
    return name


def check_date_of_birth(dob: date, today: date) -> date:
    if dob > today:
        raise InvalidInput("date_of_birth", "cannot be in the future")
    if (today.year - dob.year) - ((today.month, today.day) < (dob.month, dob.day)) > MAX_AGE_YEARS:
        raise InvalidInput("date_of_birth", f"implies an age over {MAX_AGE_YEARS} years")
    return dob


def check_sex(sex: str) -> str:
    if sex not in SEXES:
        raise InvalidInput("sex", f"must be one of {', '.join(SEXES)}")
    return sex


class Patient(Aggregate):
    aggregate_type = "Patient"
    lookup_fields = (
        "mrn",
        "mobile",
        "family_name",
        "given_name",
        "date_of_birth",
        "duplicate_key",
        "aadhaar_index",
    )
    transitions: ClassVar[dict[str, frozenset[str]]] = {
        "active": frozenset({"active", "deleted"}),
        "deleted": frozenset(),
    }

    def __init__(
        self,
        *,
        id: str,
        organization_id: str,
        mrn: str,
        demographics: Demographics,
        aadhaar_token: str | None = None,
        aadhaar_last4: str | None = None,
        aadhaar_index: str | None = None,
        status: str = "active",
        version: int = 0,
    ) -> None:
        super().__init__(id=id, organization_id=organization_id, status=status, version=version)
        self.mrn = mrn
        self.demographics = demographics
        self.aadhaar_token = aadhaar_token
        self.aadhaar_last4 = aadhaar_last4
        self.aadhaar_index = aadhaar_index  # blind index: duplicate checks without decrypting

    @classmethod
    def register(
        cls,
        *,
        id: str,
        organization_id: str,
        mrn: str,
        demographics: Demographics,
        aadhaar: str | None,
        vault: AadhaarVault,
        index: IdentifierIndex,
        keyring: PatientKeyring,
    ) -> Patient:
        ids.check_mrn(mrn)
        digits = ids.normalize_aadhaar(aadhaar) if aadhaar else None
        patient = cls(id=id, organization_id=organization_id, mrn=mrn, demographics=demographics)
        if digits:
            patient._store_aadhaar(digits, vault, index)
        patient._record(PatientCreated(patient_id=id, mrn=mrn, **patient._public_fields(keyring)))
        return patient

    def update(
        self,
        demographics: Demographics,
        *,
        aadhaar: str | None,
        vault: AadhaarVault,
        index: IdentifierIndex,
        keyring: PatientKeyring,
    ) -> list[str]:
        """Apply new demographics (and Aadhaar if given, "" to remove); returns changed fields."""
        digits = ids.normalize_aadhaar(aadhaar) if aadhaar else None
        self._move_to("active", "update")
        old, new = self.demographics, demographics
        changed = [f.name for f in fields(old) if getattr(old, f.name) != getattr(new, f.name)]
        self.demographics = demographics
        if digits and (not self.aadhaar_token or vault.decrypt(self.aadhaar_token) != digits):
            self._store_aadhaar(digits, vault, index)
            changed.append("aadhaar")
        elif aadhaar == "" and self.aadhaar_token:
            self.aadhaar_token = self.aadhaar_last4 = self.aadhaar_index = None
            changed.append("aadhaar")
        if changed:
            self._record(
                PatientUpdated(
                    patient_id=self.id,
                    mrn=self.mrn,
                    changed_fields=changed,
                    **self._public_fields(keyring),
                )
            )
        return changed

    def delete(self, reason: str | None) -> None:
        self._move_to("deleted", "delete")
        self._record(PatientDeleted(patient_id=self.id, mrn=self.mrn, reason=reason))

    @property
    def is_deleted(self) -> bool:
        return self.status == "deleted"

    @property
    def aadhaar_masked(self) -> str | None:
        return ids.mask_aadhaar(self.aadhaar_last4) if self.aadhaar_last4 else None

    @property
    def duplicate_key(self) -> str:
        return duplicate_key(self.demographics)

    def _store_aadhaar(self, digits: str, vault: AadhaarVault, index: IdentifierIndex) -> None:
        self.aadhaar_token = vault.encrypt(digits)
        self.aadhaar_last4 = digits[-4:]  # enough to mask without a vault round trip
        self.aadhaar_index = aadhaar_index(digits, index)

    def _public_fields(self, keyring: PatientKeyring) -> dict[str, Any]:
        d = self.demographics
        phi = {
            "family_name": d.family_name,
            "given_name": d.given_name,
            "date_of_birth": d.date_of_birth.isoformat(),
        }
        sealed = keyring.seal(
            self.organization_id, self.id, json.dumps(phi, sort_keys=True).encode()
        )
        return {
            "sealed_phi": sealed,
            "family_name": d.family_name,
            "given_name": d.given_name,
            "date_of_birth": d.date_of_birth,
            "sex": d.sex,
            "mobile_masked": contacts.mask_mobile(d.mobile) if d.mobile else None,
            "email_masked": contacts.mask_email(d.email) if d.email else None,
            "aadhaar_masked": self.aadhaar_masked,
        }

    def snapshot(self) -> dict[str, Any]:
        d = self.demographics
        return {
            "id": self.id,
            "organization_id": self.organization_id,
            "status": self.status,
            "mrn": self.mrn,
            "family_name": d.family_name,
            "given_name": d.given_name,
            "date_of_birth": d.date_of_birth.isoformat(),
            "sex": d.sex,
            "mobile": d.mobile,
            "email": d.email,
            "aadhaar_token": self.aadhaar_token,
            "aadhaar_last4": self.aadhaar_last4,
            "aadhaar_index": self.aadhaar_index,
            "duplicate_key": self.duplicate_key,
        }

    @classmethod
    def restore(cls, snapshot: dict[str, Any], *, version: int) -> Self:
        s = snapshot
        return cls(
            id=s["id"],
            organization_id=s["organization_id"],
            status=s["status"],
            mrn=s["mrn"],
            demographics=Demographics(
                family_name=s["family_name"],
                given_name=s["given_name"],
                date_of_birth=date.fromisoformat(s["date_of_birth"]),
                sex=s["sex"],
                mobile=s["mobile"],
                email=s["email"],
            ),
            aadhaar_token=s["aadhaar_token"],
            aadhaar_last4=s["aadhaar_last4"],
            aadhaar_index=s.get("aadhaar_index"),  # None: registered before blind indexes
            version=version,
        )


def duplicate_key(d: Demographics) -> str:
    """Same family + given name (any case) + date of birth: very likely one person. Not the
    mobile: many patients have none, and a family often shares one."""
    return "|".join(
        (d.family_name.casefold(), d.given_name.casefold(), d.date_of_birth.isoformat())
    )


def aadhaar_index(digits: str, index: IdentifierIndex) -> str:
    return index.blind_index("aadhaar", digits)
