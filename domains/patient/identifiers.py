"""Patient identifiers: MRN (Luhn check digit) and Aadhaar (Verhoeff), and their masking.

Pure functions; each ``normalize_*`` either returns the canonical form or raises InvalidInput,
whose reason says what is wrong but never echoes the value (it is PHI, and reasons reach logs).
"""

from __future__ import annotations

import re

from domains.shared.check_digits import luhn_check_digit, luhn_valid, verhoeff_valid
from domains.shared.errors import InvalidInput

_SEPARATORS = re.compile(r"[\s\-]")


def mrn_from_sequence(sequence: int) -> str:
    """The MRN for the n-th patient of an organization: 9 digits plus a Luhn check digit, so a
    mistyped MRN is caught at the desk instead of opening the wrong chart."""
    body = f"{sequence:09d}"
    return body + luhn_check_digit(body)


def check_mrn(mrn: str) -> str:
    if len(mrn) != 10 or not luhn_valid(mrn):
        raise InvalidInput("mrn", "is not a 10-digit MRN with a valid check digit")
    return mrn


def normalize_aadhaar(raw: str) -> str:
    digits = _SEPARATORS.sub("", raw)
    if len(digits) != 12 or not digits.isdigit():
        raise InvalidInput("aadhaar", "must be 12 digits")
    if digits[0] in "01":
        raise InvalidInput("aadhaar", "cannot start with 0 or 1")
    if not verhoeff_valid(digits):
        raise InvalidInput("aadhaar", "check digit does not match")
    return digits


def mask_aadhaar(digits: str) -> str:
    return f"XXXX-XXXX-{digits[-4:]}"
