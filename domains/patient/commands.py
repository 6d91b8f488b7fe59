"""Patient commands.

Names, date of birth and the contact and identity numbers are PHI: they are left out of the
reprs (``field(repr=False)``), so a traceback or an ``exc_info`` log line never shows them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from domains.shared.messages import Command


@dataclass(frozen=True, kw_only=True)
class RegisterPatient(Command):
    # one of the two may be "" (people with a single name)
    family_name: str = field(repr=False)
    given_name: str = field(repr=False)
    date_of_birth: date = field(repr=False)
    sex: str  # male | female | other | unknown
    # "+91 98765 43210", "09876543210", "9876543210"
    mobile: str | None = field(default=None, repr=False)
    email: str | None = field(default=None, repr=False)
    # plain only in transit; stored as a vault token
    aadhaar: str | None = field(default=None, repr=False)
    allow_duplicate: bool = False  # the desk confirmed it is a different person


@dataclass(frozen=True, kw_only=True)
class UpdatePatient(Command):
    """None leaves a field unchanged; "" clears an optional one (mobile, email, aadhaar)."""

    patient_id: str
    family_name: str | None = field(default=None, repr=False)
    given_name: str | None = field(default=None, repr=False)
    date_of_birth: date | None = field(default=None, repr=False)
    sex: str | None = None
    mobile: str | None = field(default=None, repr=False)
    email: str | None = field(default=None, repr=False)
    aadhaar: str | None = field(default=None, repr=False)
    # the desk confirmed that the corrected name and date of birth are another person's
    allow_duplicate: bool = False


@dataclass(frozen=True, kw_only=True)
class DeletePatient(Command):
    patient_id: str
    reason: str | None = None
