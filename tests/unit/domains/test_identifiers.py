from __future__ import annotations

from collections.abc import Callable
from datetime import date

import pytest

from domains.patient.identifiers import (
    check_mrn,
    mask_aadhaar,
    mrn_from_sequence,
    normalize_aadhaar,
)
from domains.sample.ports import accession_number, check_accession_number
from domains.shared.check_digits import luhn_valid, verhoeff_check_digit, verhoeff_valid
from domains.shared.contacts import mask_mobile, normalize_email, normalize_mobile
from domains.shared.errors import Conflict, InvalidInput


def test_verhoeff_matches_the_published_example() -> None:
    assert verhoeff_check_digit("236") == "3"
    assert verhoeff_valid("2363")
    assert not verhoeff_valid("2364")


def test_mrns_carry_a_luhn_check_digit() -> None:
    mrn = mrn_from_sequence(42)
    assert len(mrn) == 10
    assert luhn_valid(mrn)
    assert not luhn_valid(mrn[:-1] + str((int(mrn[-1]) + 1) % 10))


@pytest.mark.parametrize(
    "raw", ["+91 98765 43210", "09876543210", "9876543210", "+919876543210", "98765-43210"]
)
def test_indian_mobiles_are_stored_as_e164(raw: str) -> None:
    assert normalize_mobile(raw) == "+919876543210"


@pytest.mark.parametrize("raw", ["5876543210", "98765", "+1 415 555 0100", "98765abcde"])
def test_non_indian_or_malformed_mobiles_are_refused(raw: str) -> None:
    with pytest.raises(InvalidInput):
        normalize_mobile(raw)


@pytest.mark.parametrize("raw", ["134567890124", "034567890124", "23456789012", "234567890125"])
def test_bad_aadhaar_numbers_are_refused(raw: str) -> None:
    with pytest.raises(InvalidInput) as err:
        normalize_aadhaar(raw)
    assert err.value.field == "aadhaar"


def test_masks_show_only_the_last_four_digits() -> None:
    assert mask_aadhaar(normalize_aadhaar("2345 6789 0124")) == "XXXX-XXXX-0124"
    assert mask_mobile("+919876543210") == "+91XXXXXX3210"


def test_accession_numbers_carry_the_date_and_a_check_digit() -> None:
    number = accession_number(date(2024, 6, 15), 17)
    assert number.startswith("S24061500017")
    assert len(number) == 13
    assert check_accession_number(number) == number
    with pytest.raises(InvalidInput):
        check_accession_number(number[:-1] + str((int(number[-1]) + 1) % 10))


@pytest.mark.parametrize("sequence", [9_999, 10_000, 54_321, 99_999])
def test_a_busy_day_past_ten_thousand_tubes_still_gets_valid_accession_numbers(
    sequence: int,
) -> None:
    number = accession_number(date(2024, 6, 15), sequence)
    assert number[7:12] == f"{sequence:05d}"
    assert check_accession_number(number) == number


def test_a_day_that_used_up_its_accession_numbers_is_refused_with_a_conflict() -> None:
    with pytest.raises(Conflict):
        accession_number(date(2024, 6, 15), 100_000)


def test_an_old_four_digit_accession_number_is_no_longer_issued_or_accepted() -> None:
    with pytest.raises(InvalidInput):
        check_accession_number("S24061500173")


@pytest.mark.parametrize(
    ("call", "raw"),
    [
        (lambda raw: normalize_email(raw), "priya.secret@nowhere"),
        (lambda raw: check_mrn(raw), "1234567891"),
        (lambda raw: normalize_mobile(raw), "5876543210"),
        (lambda raw: normalize_aadhaar(raw), "234567890125"),
    ],
    ids=["email", "mrn", "mobile", "aadhaar"],
)
def test_an_invalid_identifier_is_refused_without_echoing_the_value(
    call: Callable[[str], object], raw: str
) -> None:
    with pytest.raises(InvalidInput) as err:
        call(raw)
    assert raw not in str(err.value)
    assert raw.split("@")[0] not in err.value.reason
