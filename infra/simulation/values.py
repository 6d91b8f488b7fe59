"""Analyser readings for a simulated day: mostly normal, some abnormal, a few critical."""

from __future__ import annotations

import random
from datetime import date

from domains.catalog.model import TestDefinition


def reading(
    rng: random.Random,
    test: TestDefinition,
    *,
    sex: str,
    date_of_birth: date,
    on: date,
    critical: bool,
) -> str:
    """The value text an analyser would report for ``test`` (in the catalog unit)."""
    if test.is_coded:
        pool = test.critical_values if critical and test.critical_values else test.normal_values
        return rng.choice(pool or test.coded_values)
    value = _numeric(rng, test, sex=sex, date_of_birth=date_of_birth, on=on, critical=critical)
    return f"{max(value, 0.0):.{test.decimals}f}"


def _numeric(
    rng: random.Random,
    test: TestDefinition,
    *,
    sex: str,
    date_of_birth: date,
    on: date,
    critical: bool,
) -> float:
    ref = test.reference_range(sex, date_of_birth, on)
    low = ref.low if ref and ref.low is not None else 0.0
    high = ref.high if ref and ref.high is not None else max(low * 2, 1.0)
    if critical and test.critical_high is not None:
        return test.critical_high * rng.uniform(1.05, 1.3)
    if critical and test.critical_low is not None:
        return test.critical_low * rng.uniform(0.6, 0.9)
    if rng.random() < 0.12:  # abnormal but not critical
        span = high - low
        return rng.choice([low - span * 0.1, high + span * 0.15])
    return rng.uniform(low, high)


def can_be_critical(test: TestDefinition) -> bool:
    if test.is_coded:
        return bool(test.critical_values)
    return test.critical_high is not None or test.critical_low is not None
