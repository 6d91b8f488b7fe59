"""Port for accession numbers, and the number scheme itself."""

from __future__ import annotations

import abc
import re
from datetime import date

from domains.patient.identifiers import luhn_check_digit, luhn_valid
from domains.shared.errors import InvalidInput

_ACCESSION = re.compile(r"^S\d{11}$")


class AccessionSource(abc.ABC):
    @abc.abstractmethod
    def next_accession(self, organization_id: str, on: date) -> str:
        """A fresh accession number for a sample collected on this (lab-local) day."""


def accession_number(on: date, sequence: int) -> str:
    """``S`` + yymmdd + 4-digit daily sequence + Luhn digit: "S24061500017". The date makes
    tubes sortable by eye; the check digit catches a misread barcode typed in by hand."""
    digits = f"{on:%y%m%d}{sequence:04d}"
    return f"S{digits}{luhn_check_digit(digits)}"


def check_accession_number(value: str) -> str:
    if not _ACCESSION.match(value) or not luhn_valid(value[1:]):
        raise InvalidInput("accession_number", f"{value!r} is not a valid accession number")
    return value
