"""Port for accession numbers, and the number scheme itself."""

from __future__ import annotations

import abc
import re
from datetime import date

from domains.shared.check_digits import luhn_check_digit, luhn_valid
from domains.shared.errors import Conflict, InvalidInput

SEQUENCE_DIGITS = 5  # up to 99,999 tubes a day per organization
_ACCESSION = re.compile(rf"^S\d{{{6 + SEQUENCE_DIGITS + 1}}}$")


class AccessionSource(abc.ABC):
    @abc.abstractmethod
    def next_accession(self, organization_id: str, on: date) -> str:
        """A fresh accession number for a sample collected on this (lab-local) day."""


def accession_number(on: date, sequence: int) -> str:
    """``S`` + yymmdd + 5-digit daily sequence + Luhn digit: "S240615000172". The date makes
    tubes sortable by eye; the check digit catches a misread barcode typed in by hand."""
    if not 1 <= sequence < 10**SEQUENCE_DIGITS:
        raise Conflict(f"the accession numbers of {on:%Y-%m-%d} are used up")
    digits = f"{on:%y%m%d}{sequence:0{SEQUENCE_DIGITS}d}"
    return f"S{digits}{luhn_check_digit(digits)}"


def check_accession_number(value: str) -> str:
    if not _ACCESSION.match(value) or not luhn_valid(value[1:]):
        raise InvalidInput(
            "accession_number",
            f"is not S + 6-digit date + {SEQUENCE_DIGITS}-digit sequence + valid check digit",
        )
    return value
