"""Patient commands."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from domains.shared.messages import Command


@dataclass(frozen=True, kw_only=True)
class RegisterPatient(Command):
    family_name: str
    given_name: str
    date_of_birth: date
    sex: str  # male | female | other | unknown
    mobile: str | None = None  # "+91 98765 43210", "09876543210", "9876543210"
    email: str | None = None
    aadhaar: str | None = None  # plain only in transit; stored as a vault token
    allow_duplicate: bool = False  # the desk confirmed it is a different person


@dataclass(frozen=True, kw_only=True)
class UpdatePatient(Command):
    """None leaves a field unchanged; "" clears an optional one (mobile, email, aadhaar)."""

    patient_id: str
    family_name: str | None = None
    given_name: str | None = None
    date_of_birth: date | None = None
    sex: str | None = None
    mobile: str | None = None
    email: str | None = None
    aadhaar: str | None = None


@dataclass(frozen=True, kw_only=True)
class DeletePatient(Command):
    patient_id: str
    reason: str | None = None
