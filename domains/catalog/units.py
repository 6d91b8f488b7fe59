"""UCUM units: every unit the catalog names must be valid UCUM, and a unit typed at entry is
matched by what it means, not how it is spelled ("mg/dl" is "mg/dL", "pg/mL" is "ng/L").

ucumvert parses the full UCUM grammar (generated from the official ucum-essence.xml) and maps
units onto pint, which does the dimensional arithmetic: a hand-written unit table would miss
most of UCUM and be wrong in the rest. Parsing is loaded on first use (about a second).

Dimensionless units are only ever equal to themselves: UCUM calls "mmol/mol" 0.1 "%", which is
arithmetic, but HbA1c in mmol/mol (IFCC) and in % (NGSP) are different scales, related by a
published master equation, never by a unit factor. The catalog states such conversions itself.
"""

from __future__ import annotations

import math
from functools import cache
from typing import Any


class UnitError(ValueError):
    """Not a UCUM unit, or a conversion that contradicts UCUM."""


@cache
def _registry() -> Any:
    from ucumvert import PintUcumRegistry

    return PintUcumRegistry()


@cache
def _quantity(unit: str) -> Any:
    """The unit as a pint quantity; None for an annotation alone ("{INR}", which UCUM treats
    as the unity with a label)."""
    try:
        quantity = _registry().from_ucum(unit)
    except Exception as exc:  # the parser raises lark's own exception classes
        raise UnitError(f"{unit!r} is not a valid UCUM unit") from exc
    return quantity if hasattr(quantity, "dimensionality") else None


def check_ucum(unit: str) -> None:
    if not unit or unit != unit.strip():
        raise UnitError(f"{unit!r} is not a valid UCUM unit")
    _quantity(unit)


def ucum_factor(source: str, target: str) -> float | None:
    """How many ``target`` one ``source`` is, when UCUM can say (same dimension, not
    dimensionless); None when it cannot."""
    a, b = _quantity(source), _quantity(target)
    if a is None or b is None or a.dimensionless or a.dimensionality != b.dimensionality:
        return None
    return float((1 * a).to(b).magnitude)


def same_unit(typed: str, known: str) -> bool:
    """``typed`` means exactly ``known`` (raises UnitError when ``typed`` is not UCUM)."""
    if typed == known:
        return True
    factor = ucum_factor(typed, known)
    return factor is not None and math.isclose(factor, 1.0, rel_tol=1e-9)
