"""The test catalog: what each LOINC-coded test needs (specimen, container, bench) and how to
read its results (UCUM unit, conversions, reference ranges by sex and age, critical limits).

The catalog is reference data, not an aggregate: it is loaded once per process from YAML and
its ``version`` is stamped on every result, so a result can always be re-read against the
ranges that flagged it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import yaml

from domains.shared.errors import InvalidInput

DEFAULT_CATALOG_PATH = Path(__file__).with_name("catalog.yaml")
SEXES = ("male", "female", "other", "unknown")
_AGE_BOUND = re.compile(r"^(\d+)([dmy])$")


@dataclass(frozen=True)
class AgeBound:
    """An age like "1m" or "18y", compared in its own calendar unit (no 365.25-day rounding)."""

    amount: int
    unit: str  # d | m | y

    @classmethod
    def parse(cls, text: str) -> AgeBound:
        match = _AGE_BOUND.match(text.strip())
        if match is None:
            raise ValueError(f"bad age bound {text!r}")
        return cls(int(match.group(1)), match.group(2))

    def reached(self, date_of_birth: date, on: date) -> bool:
        if self.unit == "d":
            return (on - date_of_birth).days >= self.amount
        months = (on.year - date_of_birth.year) * 12 + on.month - date_of_birth.month
        if on.day < date_of_birth.day:
            months -= 1
        return (months if self.unit == "m" else months // 12) >= self.amount


@dataclass(frozen=True)
class ReferenceRange:
    sex: str  # male | female | any
    age_from: AgeBound
    age_to: AgeBound | None  # exclusive; None = open-ended
    low: float | None = None
    high: float | None = None

    def applies(self, sex: str, date_of_birth: date, on: date) -> bool:
        if self.sex not in ("any", sex):
            return False
        if not self.age_from.reached(date_of_birth, on):
            return False
        return self.age_to is None or not self.age_to.reached(date_of_birth, on)

    @property
    def text(self) -> str:
        if self.low is not None and self.high is not None:
            return f"{self.low:g}-{self.high:g}"
        if self.high is not None:
            return f"<={self.high:g}"
        return f">={self.low:g}" if self.low is not None else ""


@dataclass(frozen=True)
class TestDefinition:
    loinc_code: str
    name: str
    specimen_type: str
    container: str
    department: str
    bench: str
    unit: str  # UCUM; "" for coded tests
    tat_minutes: int
    decimals: int = 1
    acceptable_specimens: tuple[str, ...] = ()
    reference_ranges: tuple[ReferenceRange, ...] = ()
    critical_low: float | None = None
    critical_high: float | None = None
    conversions: Mapping[str, float] = field(default_factory=dict)
    coded_values: tuple[str, ...] = ()  # non-empty for coded (non-numeric) tests
    normal_values: tuple[str, ...] = ()
    critical_values: tuple[str, ...] = ()

    __test__ = False  # not a pytest class, despite the name

    @property
    def is_coded(self) -> bool:
        return bool(self.coded_values)

    def accepts_specimen(self, specimen_type: str) -> bool:
        return specimen_type in (self.specimen_type, *self.acceptable_specimens)

    def reference_range(self, sex: str, date_of_birth: date, on: date) -> ReferenceRange | None:
        """The range for this patient; for sex other/unknown the male and female bands are
        merged (lowest low, highest high) so no value normal for either sex is flagged."""
        sexes = (sex,) if sex in ("male", "female") else ("male", "female")
        found = [r for s in sexes for r in self.reference_ranges if r.applies(s, date_of_birth, on)]
        if not found:
            return None
        if len(found) == 1 or len(set(found)) == 1:
            return found[0]
        lows = [r.low for r in found if r.low is not None]
        highs = [r.high for r in found if r.high is not None]
        return ReferenceRange(
            sex="any",
            age_from=found[0].age_from,
            age_to=found[0].age_to,
            low=min(lows) if len(lows) == len(found) else None,
            high=max(highs) if len(highs) == len(found) else None,
        )


class Catalog:
    """The tests a lab offers, by LOINC code."""

    def __init__(self, version: str, tests: Iterable[TestDefinition]) -> None:
        self.version = version
        self._tests = {t.loinc_code: t for t in tests}

    def get(self, loinc_code: str, *, field: str = "loinc_code") -> TestDefinition:
        try:
            return self._tests[loinc_code]
        except KeyError:
            raise InvalidInput(field, f"unknown test {loinc_code!r} in catalog") from None

    def __contains__(self, loinc_code: object) -> bool:
        return loinc_code in self._tests

    def __iter__(self) -> Iterator[TestDefinition]:
        return iter(self._tests.values())

    def __len__(self) -> int:
        return len(self._tests)


def load_catalog(path: Path | str = DEFAULT_CATALOG_PATH) -> Catalog:
    raw = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    return Catalog(str(raw["catalog_version"]), (_test_from_yaml(t) for t in raw["tests"]))


def _test_from_yaml(raw: dict[str, Any]) -> TestDefinition:
    critical = raw.get("critical", {})
    coded = raw.get("coded", {})
    return TestDefinition(
        loinc_code=str(raw["loinc"]),
        name=raw["name"],
        specimen_type=raw["specimen"],
        container=raw["container"],
        department=raw["department"],
        bench=raw["bench"],
        unit=raw["unit"],
        tat_minutes=int(raw["tat_minutes"]),
        decimals=int(raw.get("decimals", 1)),
        acceptable_specimens=tuple(raw.get("also", ())),
        reference_ranges=tuple(_range_from_yaml(r) for r in raw.get("ranges", ())),
        critical_low=critical.get("low"),
        critical_high=critical.get("high"),
        conversions={str(unit): float(f) for unit, f in raw.get("conversions", {}).items()},
        coded_values=tuple(coded.get("values", ())),
        normal_values=tuple(coded.get("normal", ())),
        critical_values=tuple(coded.get("critical", ())),
    )


def _range_from_yaml(raw: dict[str, Any]) -> ReferenceRange:
    start, _, end = str(raw["age"]).partition("-")
    return ReferenceRange(
        sex=raw["sex"],
        age_from=AgeBound.parse(start),
        age_to=AgeBound.parse(end) if end else None,
        low=raw.get("low"),
        high=raw.get("high"),
    )
