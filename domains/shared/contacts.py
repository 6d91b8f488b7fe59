"""Contact details (Indian mobile numbers, email addresses): normalized on the way in, masked
on the way out (events, logs, reprs). A patient, an order's clinician and a report's
recipients all use the same rules.

``normalize_*`` returns the canonical form or raises InvalidInput whose reason never echoes the
value (it is PHI, and reasons reach logs).
"""

from __future__ import annotations

import re

from domains.shared.errors import InvalidInput

_SEPARATORS = re.compile(r"[\s\-]")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[A-Za-z]{2,}$")


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
