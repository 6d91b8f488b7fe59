"""Reading a result against the catalog: the number (or censored number) and its unit, then
L/H/LL/HH/N/A flags, or no flag at all when the catalog has nothing that applies.

Kept beside the catalog (not in the Result aggregate) because it is pure reference-data
arithmetic that the result, the report and any re-flagging job must do identically.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from datetime import date

from domains.catalog.model import Conversion, ReferenceRange, TestDefinition
from domains.catalog.units import UnitError, check_ucum, same_unit
from domains.shared.errors import InvalidInput

# "" = not interpreted: as HL7 v2 table 0078's empty flag, "no range defined, or normal ranges
# don't apply". Never "N": no applicable range is not a normal result.
FLAGS = ("N", "L", "H", "LL", "HH", "A", "")
NOT_INTERPRETED = ""
_NUMBER = re.compile(r"^([<>])?\s*(-?[0-9]+(?:\.[0-9]+)?)$")
_WHY_NOT_A_NUMBER = (
    (("_", ","), "digit group separators are not accepted"),
    (("e", "E"), "exponent notation is not accepted: write the number out"),
    (("<=", ">=", "≤", "≥", "=<", "=>"), "only '<' and '>' may precede a number"),
    (("+",), "a sign is not accepted"),
)


@dataclass(frozen=True)
class Reading:
    """A value in the catalog unit, plus what was typed when it had to be converted. A
    censored value ("<0.01", ">1000") keeps its comparator: the true value lies beyond."""

    value: float | None
    value_text: str
    unit: str
    entered_value_text: str | None = None
    entered_unit: str | None = None
    comparator: str | None = None  # "<" | ">"


@dataclass(frozen=True)
class Interpretation:
    flag: str
    is_critical: bool
    reference_low: float | None = None
    reference_high: float | None = None
    reference_text: str = ""
    critical_low: float | None = None  # the limits that applied to this patient
    critical_high: float | None = None
    reference_band: str | None = None  # whom the interval is for, and its source
    note: str | None = None  # why there is no flag, or why a person must look
    needs_review: bool = False


def read_value(test: TestDefinition, value_text: str, unit: str | None) -> Reading:
    text = value_text.strip()
    if not text:
        raise InvalidInput("value_text", "a result value is required")
    if test.is_coded:
        return _read_coded(test, text, unit)
    match = _NUMBER.match(text)
    if match is None:
        raise InvalidInput("value_text", _not_a_number(text))
    comparator, digits = match.group(1), match.group(2)
    number = float(digits)
    entered_unit, conversion = _unit(test, (unit or "").strip())
    value = conversion.apply(number) if conversion else number
    _check_possible(test, value, comparator, f"{text} {entered_unit}")
    prefix = comparator or ""
    if conversion is None:
        return Reading(value, f"{prefix}{digits}", test.unit, comparator=comparator)
    return Reading(
        value=value,
        value_text=f"{prefix}{value:.{test.decimals}f}",
        unit=test.unit,
        entered_value_text=text,
        entered_unit=entered_unit,
        comparator=comparator,
    )


def _not_a_number(text: str) -> str:
    for marks, why in _WHY_NOT_A_NUMBER:
        if any(m in text for m in marks):
            return f"{text!r} is not a number: {why}"
    if text.lstrip("<>").strip().startswith(".") or text.endswith("."):
        return f"{text!r} is not a number: write a digit on both sides of the point (0.5)"
    return f"{text!r} is not a number (digits with an optional decimal point, after '<' or '>')"


def _unit(test: TestDefinition, given: str) -> tuple[str, Conversion | None]:
    """The unit as the catalog spells it, and the conversion from it (None: already the
    catalog unit). Spelling does not matter ("mg/dl"), meaning does."""
    if not given:
        raise InvalidInput("unit", f"{test.name} needs a unit ({test.unit})")
    known = [test.unit, *test.conversions]
    if given not in known:
        try:
            check_ucum(given)
        except UnitError as exc:
            raise InvalidInput("unit", str(exc)) from None
        given = next((k for k in known if same_unit(given, k)), given)
    if given == test.unit:
        return given, None
    if given in test.conversions:
        return given, test.conversions[given]
    raise InvalidInput(
        "unit",
        f"{given!r} is not convertible to {test.unit!r} for {test.name} "
        f"(accepted: {', '.join(known)})",
    )


def _check_possible(test: TestDefinition, value: float, comparator: str | None, typed: str) -> None:
    low, high = test.possible_low, test.possible_high
    below = value <= low if comparator == "<" else value < low
    above = high is not None and (value >= high if comparator == ">" else value > high)
    if below or above:
        limits = f"{low:g}-{high:g}" if high is not None else f">= {low:g}"
        raise InvalidInput(
            "value_text", f"{typed} is not a possible {test.name} ({limits} {test.unit})"
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
    test: TestDefinition,
    reading: Reading,
    *,
    sex: str,
    date_of_birth: date,
    on: date,
    censored_at_bound: bool = False,
) -> Interpretation:
    """Flag a reading for a patient of this sex and age on the day of collection.

    A censored value is known only to lie beyond its bound, so by default it is flagged as the
    most extreme value it may take (">5.5" potassium may be 7: HH, called like one); a lab may
    choose to flag it at its bound instead (``censored_at_bound``: ">5.5" is H), where a bound
    at or beyond a limit still counts as beyond it (">6.2" is HH with the limit 6.2)."""
    if test.is_coded:
        return Interpretation(
            flag="N" if reading.value_text in test.normal_values else "A",
            is_critical=reading.value_text in test.critical_values,
            reference_text=", ".join(test.normal_values),
        )
    assert reading.value is not None  # numeric tests always read a number
    ref = test.reference_range(sex, date_of_birth, on)
    crit = test.critical_limit(sex, date_of_birth, on)
    at_bound = _flag(reading.value, reading.comparator, ref, crit)
    flag = at_bound
    notes = []
    if reading.comparator and not censored_at_bound:
        extreme = test.possible_high or math.inf if reading.comparator == ">" else test.possible_low
        flag = _flag(extreme, None, ref, crit)
        if flag != at_bound:
            bound = at_bound or "-"
            notes.append(
                f"censored: flagged as the most extreme value it may be ({bound} at its bound)"
            )
    if flag == NOT_INTERPRETED:
        notes.append("no reference interval for this patient's age and sex: not interpreted")
    if crit is None and test.critical_limits:
        notes.append("no critical limits for this patient's age and sex")
    review = test.review(date_of_birth, on)
    if review is not None:
        notes.append(review.note)
        flag = NOT_INTERPRETED if flag == "N" else flag
    return Interpretation(
        flag=flag,
        is_critical=flag in ("LL", "HH"),
        reference_low=ref.low if ref else None,
        reference_high=ref.high if ref else None,
        reference_text=ref.text if ref else "",
        critical_low=crit.low if crit else None,
        critical_high=crit.high if crit else None,
        reference_band=f"{ref.band} ({ref.source})" if ref else None,
        note="; ".join(notes) or None,
        needs_review=bool(notes),
    )


def _flag(
    x: float, comparator: str | None, ref: ReferenceRange | None, crit: ReferenceRange | None
) -> str:
    """The zone of ``x``; "<x"/">x" lie just below/above it, so a bound at a limit is beyond."""

    def below(limit: float | None) -> bool:
        return limit is not None and (x < limit or (comparator == "<" and x == limit))

    def above(limit: float | None) -> bool:
        return limit is not None and (x > limit or (comparator == ">" and x == limit))

    if crit is not None and below(crit.low):
        return "LL"
    if crit is not None and above(crit.high):
        return "HH"
    if ref is None:
        return NOT_INTERPRETED
    if below(ref.low):
        return "L"
    return "H" if above(ref.high) else "N"
