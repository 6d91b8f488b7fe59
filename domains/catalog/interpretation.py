"""Reading a result against the catalog: unit check and conversion, then L/H/LL/HH/N/A flags.

Kept beside the catalog (not in the Result aggregate) because it is pure reference-data
arithmetic that the result, the report and any re-flagging job must do identically.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date

from domains.catalog.model import TestDefinition
from domains.shared.errors import InvalidInput

FLAGS = ("N", "L", "H", "LL", "HH", "A")


@dataclass(frozen=True)
class Reading:
    """A value in the catalog unit, plus what was typed when it had to be converted."""

    value: float | None
    value_text: str
    unit: str
    entered_value_text: str | None = None
    entered_unit: str | None = None


@dataclass(frozen=True)
class Interpretation:
    flag: str
    is_critical: bool
    reference_low: float | None = None
    reference_high: float | None = None
    reference_text: str = ""


def read_value(test: TestDefinition, value_text: str, unit: str | None) -> Reading:
    text = value_text.strip()
    if not text:
        raise InvalidInput("value_text", "a result value is required")
    if test.is_coded:
        return _read_coded(test, text, unit)
    prefix = text[0] if text[0] in "<>" else ""  # censored values: "<0.01", ">1000"
    try:
        number = float(text[len(prefix) :])
    except ValueError:
        raise InvalidInput("value_text", f"{text!r} is not a number") from None
    if not math.isfinite(number):
        raise InvalidInput("value_text", f"{text!r} is not a finite number")
    given_unit = (unit or "").strip()
    if given_unit == test.unit:
        return Reading(value=number, value_text=text, unit=test.unit)
    factor = test.conversions.get(given_unit)
    if factor is None:
        accepted = ", ".join([test.unit, *test.conversions]) or "none"
        raise InvalidInput(
            "unit",
            f"{given_unit!r} is not convertible to {test.unit!r} "
            f"for {test.name} (accepted: {accepted})",
        )
    converted = number * factor
    return Reading(
        value=converted,
        value_text=f"{prefix}{converted:.{test.decimals}f}",
        unit=test.unit,
        entered_value_text=text,
        entered_unit=given_unit,
    )


def _read_coded(test: TestDefinition, text: str, unit: str | None) -> Reading:
    if unit:
        raise InvalidInput("unit", f"{test.name} is a coded result and takes no unit")
    by_folded = {v.casefold(): v for v in test.coded_values}
    canonical = by_folded.get(text.casefold())
    if canonical is None:
        raise InvalidInput("value_text", f"{text!r} is not one of {list(test.coded_values)}")
    return Reading(value=None, value_text=canonical, unit="")


def interpret(
    test: TestDefinition, reading: Reading, *, sex: str, date_of_birth: date, on: date
) -> Interpretation:
    """Flag a reading for a patient of this sex and age on the day of collection."""
    if test.is_coded:
        critical = reading.value_text in test.critical_values
        normal = reading.value_text in test.normal_values
        return Interpretation(
            flag="N" if normal else "A",
            is_critical=critical,
            reference_text=", ".join(test.normal_values),
        )
    value = reading.value
    assert value is not None  # numeric tests always read a number
    ref = test.reference_range(sex, date_of_birth, on)
    low, high = (ref.low, ref.high) if ref else (None, None)
    if test.critical_low is not None and value < test.critical_low:
        flag = "LL"
    elif test.critical_high is not None and value > test.critical_high:
        flag = "HH"
    elif low is not None and value < low:
        flag = "L"
    elif high is not None and value > high:
        flag = "H"
    else:
        flag = "N"
    return Interpretation(
        flag=flag,
        is_critical=flag in ("LL", "HH"),
        reference_low=low,
        reference_high=high,
        reference_text=ref.text if ref else "",
    )
