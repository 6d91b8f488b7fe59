"""The simulated analyser still produces values the catalog accepts, for every test, normal
and critical, at the ages the simulation uses and for children."""

from __future__ import annotations

import random
from datetime import date

from domains.catalog.interpretation import interpret, read_value
from infra.simulation.values import can_be_critical, reading
from tests.unit.fakes import shared_catalog

ON = date(2024, 6, 15)
AGES = [date(1950, 1, 1), date(2000, 6, 1), date(2015, 1, 1), date(2024, 6, 1)]


def test_every_simulated_value_is_accepted_and_a_critical_one_is_critical() -> None:
    rng = random.Random(12)
    for test in shared_catalog():
        for born in AGES:
            for sex in ("female", "male"):
                for critical in (False, True):
                    for _ in range(5):
                        text = reading(
                            rng, test, sex=sex, date_of_birth=born, on=ON, critical=critical
                        )
                        read = read_value(test, text, test.unit or None)
                        got = interpret(test, read, sex=sex, date_of_birth=born, on=ON)
                        limits = test.critical_limit(sex, born, ON)
                        if critical and can_be_critical(test) and (test.is_coded or limits):
                            assert got.is_critical or not test.critical_values, (test.name, text)
