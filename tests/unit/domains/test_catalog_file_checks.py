"""Issue 12: the catalog file is checked when it loads: UCUM units, a source for every number,
conversions that agree with UCUM, bands that do not overlap."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from domains.catalog.model import CatalogError, load_catalog
from tests.unit.fakes import shared_catalog


def write(tmp_path: Path, **changes: Any) -> Path:
    test: dict[str, Any] = {
        "loinc": "2823-3",
        "name": "Potassium",
        "specimen": "serum",
        "container": "SST",
        "department": "biochemistry",
        "bench": "chemistry-analyzer",
        "unit": "mmol/L",
        "tat_minutes": 120,
        "conversions": {"meq/L": {"factor": 1.0, "src": "ucum"}},
        "ranges": [{"sex": "any", "age": "0d-", "low": 3.5, "high": 5.1, "src": "x"}],
        **changes,
    }
    path = tmp_path / "catalog.yaml"
    sources = {"x": "a source", "ucum": "UCUM"}
    path.write_text(yaml.safe_dump({"catalog_version": "t", "sources": sources, "tests": [test]}))
    return path


def test_a_well_formed_file_loads(tmp_path: Path) -> None:
    assert len(load_catalog(write(tmp_path))) == 1


def test_a_unit_that_is_not_ucum_stops_the_catalog(tmp_path: Path) -> None:
    with pytest.raises(CatalogError, match="Potassium: 'mEq/L' is not a valid UCUM unit"):
        load_catalog(write(tmp_path, unit="mEq/L"))


def test_a_reference_range_without_a_source_stops_the_catalog(tmp_path: Path) -> None:
    ranges = [{"sex": "any", "age": "0d-", "low": 3.5, "high": 5.1}]
    with pytest.raises(CatalogError, match="reference range needs a source"):
        load_catalog(write(tmp_path, ranges=ranges))


def test_a_source_key_that_is_not_listed_stops_the_catalog(tmp_path: Path) -> None:
    critical = [{"sex": "any", "age": "0d-", "high": 6.2, "src": "my memory"}]
    with pytest.raises(CatalogError, match="critical limit needs a source"):
        load_catalog(write(tmp_path, critical=critical))


def test_a_conversion_that_contradicts_ucum_stops_the_catalog(tmp_path: Path) -> None:
    conversions = {"mmol/dL": {"factor": 1.0, "src": "ucum"}}  # 1 mmol/dL is 10 mmol/L
    with pytest.raises(CatalogError, match="1 mmol/dL is 10 mmol/L"):
        load_catalog(write(tmp_path, conversions=conversions))


def test_overlapping_age_bands_stop_the_catalog(tmp_path: Path) -> None:
    ranges = [
        {"sex": "any", "age": "0d-1y", "low": 3.5, "high": 5.1, "src": "x"},
        {"sex": "male", "age": "6m-", "low": 3.4, "high": 5.0, "src": "x"},
    ]
    with pytest.raises(CatalogError, match="overlap"):
        load_catalog(write(tmp_path, ranges=ranges))


def test_every_number_in_the_shipped_catalog_names_a_listed_source() -> None:
    catalog = shared_catalog()
    for test in catalog:
        numbers = [*test.reference_ranges, *test.critical_limits, *test.conversions.values()]
        for item in [*numbers, *test.reviews]:
            keys = item.source.split("; ")
            assert keys
            assert all(k in catalog.sources for k in keys), (test.name, item)
