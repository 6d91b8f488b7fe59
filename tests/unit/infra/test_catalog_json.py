"""The catalog as stored in Postgres (JSON per test definition): today's shape round-trips, and
a catalog stored before 2025.01 (one critical pair, plain conversion factors) still reads."""

from __future__ import annotations

from datetime import date

from infra.db.catalog_store import definition_from_json, definition_to_json
from tests.unit.fakes import shared_catalog


def test_every_definition_round_trips_through_its_stored_json() -> None:
    for test in shared_catalog():
        assert definition_from_json(definition_to_json(test)) == test


def test_a_definition_stored_by_catalog_2024_06_still_reads() -> None:
    age = {"amount": 0, "unit": "d"}
    legacy = {
        "loinc_code": "2823-3",
        "name": "Potassium",
        "specimen_type": "serum",
        "container": "SST (gold)",
        "department": "biochemistry",
        "bench": "chemistry-analyzer",
        "unit": "mmol/L",
        "tat_minutes": 120,
        "decimals": 1,
        "acceptable_specimens": ["plasma"],
        "reference_ranges": [
            {"sex": "any", "age_from": age, "age_to": None, "low": 3.5, "high": 5.1}
        ],
        "critical_low": 2.8,
        "critical_high": 6.2,
        "conversions": {"meq/L": 1.0},
        "coded_values": [],
        "normal_values": [],
        "critical_values": [],
    }
    test = definition_from_json(legacy)
    limits = test.critical_limit("male", date(1980, 1, 1), date(2024, 1, 1))
    assert limits is not None
    assert (limits.low, limits.high) == (2.8, 6.2)
    assert test.conversions["meq/L"].apply(4.0) == 4.0
