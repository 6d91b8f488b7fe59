"""Indian patient identifiers: MRN (Luhn), Aadhaar (Verhoeff), mobile numbers, and masking.

Pure functions; each ``normalize_*`` either returns the canonical form or raises InvalidInput,
whose reason says what is wrong but never echoes the value (it is PHI, and reasons reach logs).
"""

from __future__ import annotations

import re

from domains.shared.errors import InvalidInput

# Verhoeff tables (dihedral group D5): Aadhaar's last digit is a Verhoeff check digit.
_D = (
    (0, 1, 2, 3, 4, 5, 6, 7, 8, 9),
    (1, 2, 3, 4, 0, 6, 7, 8, 9, 5),
    (2, 3, 4, 0, 1, 7, 8, 9, 5, 6),
    (3, 4, 0, 1, 2, 8, 9, 5, 6, 7),
    (4, 0, 1, 2, 3, 9, 5, 6, 7, 8),
    (5, 9, 8, 7, 6, 0, 4, 3, 2, 1),
    (6, 5, 9, 8, 7, 1, 0, 4, 3, 2),
    (7, 6, 5, 9, 8, 2, 1, 0, 4, 3),
    (8, 7, 6, 5, 9, 3, 2, 1, 0, 4),
    (9, 8, 7, 6, 5, 4, 3, 2, 1, 0),
)
_P = (
    (0, 1, 2, 3, 4, 5, 6, 7, 8, 9),
    (1, 5, 7, 6, 2, 8, 3, 0, 9, 4),
    (5, 8, 0, 3, 7, 9, 6, 1, 4, 2),
    (8, 9, 1, 6, 0, 4, 3, 5, 2, 7),
    (9, 4, 5, 3, 1, 2, 6, 8, 7, 0),
    (4, 2, 8, 6, 5, 7, 3, 9, 0, 1),
    (2, 7, 9, 3, 8, 0, 6, 4, 1, 5),
    (7, 0, 4, 6, 9, 1, 3, 2, 5, 8),
)
_INV = (0, 4, 3, 2, 1, 5, 6, 7, 8, 9)
_SEPARATORS = re.compile(r"[\s\-]")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[A-Za-z]{2,}$")


def verhoeff_check_digit(digits: str) -> str:
    c = 0
    for i, d in enumerate(reversed(digits)):
        c = _D[c][_P[(i + 1) % 8][int(d)]]
    return str(_INV[c])


def verhoeff_valid(digits: str) -> bool:
    c = 0
    for i, d in enumerate(reversed(digits)):
        c = _D[c][_P[i % 8][int(d)]]
    return c == 0


def luhn_check_digit(digits: str) -> str:
    total = 0
    for i, d in enumerate(reversed(digits)):
        n = int(d) * (2 if i % 2 == 0 else 1)
        total += n - 9 if n > 9 else n
    return str((10 - total % 10) % 10)


def luhn_valid(digits: str) -> bool:
    return digits.isdigit() and luhn_check_digit(digits[:-1]) == digits[-1]


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


def normalize_mobile(raw: str, *, field: str = "mobile") -> str:
    """Indian mobile as E.164 (+91 and 10 digits starting 6-9); accepts +91/91/0 prefixes."""
    digits = _SEPARATORS.sub("", raw)
    if digits.startswith("+91"):
        digits = digits[3:]
    elif digits.startswith("0") or (digits.startswith("91") and len(digits) == 12):
        digits = digits[1:] if digits.startswith("0") else digits[2:]
    if len(digits) != 10 or not digits.isdigit() or digits[0] not in "6789":
        raise InvalidInput(field, "must be a 10-digit Indian mobile number starting with 6-9")
    return "+91" + digits


def mask_mobile(e164: str) -> str:
    return f"+91XXXXXX{e164[-4:]}"


def normalize_email(raw: str, *, field: str = "email") -> str:
    email = raw.strip()
    if len(email) > 254 or not _EMAIL.match(email):
        raise InvalidInput(field, "is not an email address (name@domain, at most 254 characters)")
    local, _, domain = email.rpartition("@")
    return f"{local}@{domain.lower()}"


def mask_email(email: str) -> str:
    local, _, domain = email.partition("@")
    return f"{local[:1]}***@{domain}"


def mask_contact(contact: str) -> str:
    """Mask a normalized mobile or email for events and logs."""
    return mask_mobile(contact) if contact.startswith("+91") else mask_email(contact)


def normalize_contact(raw: str, *, field: str) -> str:
    """A mobile number or an email, whichever the text is."""
    return normalize_email(raw, field=field) if "@" in raw else normalize_mobile(raw, field=field)
