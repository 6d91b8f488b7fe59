"""Analyser readings for a simulated day: mostly normal, some abnormal, a few critical."""

from __future__ import annotations

import math
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
    return f"{value:.{test.decimals}f}"


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
    crit = test.critical_limit(sex, date_of_birth, on)
    low = ref.low if ref and ref.low is not None else test.possible_low
    high = ref.high if ref and ref.high is not None else max(low * 2, 1.0)
    if critical and crit is not None and crit.high is not None:
        value = crit.high * rng.uniform(1.05, 1.3)
    elif critical and crit is not None and crit.low is not None:
        value = crit.low * rng.uniform(0.6, 0.9)
    elif rng.random() < 0.12:  # abnormal but not critical
        span = high - low
        value = rng.choice([low - span * 0.1, high + span * 0.15])
    else:
        value = rng.uniform(low, high)
    # an analyser never reports what cannot exist (a haematocrit over 100 %)
    top = test.possible_high if test.possible_high is not None else math.inf
    return min(max(value, test.possible_low), top)


def can_be_critical(test: TestDefinition) -> bool:
    return test.can_be_critical
