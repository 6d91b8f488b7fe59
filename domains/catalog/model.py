"""The test catalog: what each LOINC-coded test needs (specimen, container, bench) and how to
read its results (UCUM unit, conversions, possible values, reference intervals and critical
limits by sex and age, rules that send a result to review), each number with its source.

The catalog is reference data, not an aggregate: it is loaded once per process from YAML and
its ``version`` is stamped on every interpretation, so a result can always be re-read against
the definitions that flagged it. A stored version never changes: edit the file, bump the version.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from datetime import date
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

from domains.catalog.units import UnitError, check_ucum, ucum_factor
from domains.shared.errors import InvalidInput

DEFAULT_CATALOG_PATH = Path(__file__).with_name("catalog.yaml")
SEXES = ("male", "female", "other", "unknown")
_AGE_BOUND = re.compile(r"^(\d+)([dmy])$")
_DAYS = {"d": 1.0, "m": 30.4375, "y": 365.25}  # only to check that bands do not overlap


class CatalogError(ValueError):
    """The catalog file cannot be used; the message names the test and the reason."""


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

    @property
    def text(self) -> str:
        return f"{self.amount}{self.unit}"


@dataclass(frozen=True)
class ReferenceRange:
    """A band of a sex and an age: a reference interval, or a pair of critical limits."""

    sex: str  # male | female | any
    age_from: AgeBound
    age_to: AgeBound | None  # exclusive; None = open-ended
    low: float | None = None
    high: float | None = None
    source: str = ""  # key into the catalog's sources

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

    @property
    def band(self) -> str:
        """Whom it is for, e.g. "female 18y-" or "any 0d-1m"."""
        return f"{self.sex} {self.age_from.text}-{self.age_to.text if self.age_to else ''}"


@dataclass(frozen=True)
class Conversion:
    """catalog value = factor x entered value + offset (affine: HbA1c IFCC -> NGSP)."""

    factor: float
    offset: float = 0.0
    source: str = ""

    def apply(self, value: float) -> float:
        return value * self.factor + self.offset


@dataclass(frozen=True)
class ReviewRule:
    """Results in this age band are never read as normal and always go to review (neonatal
    bilirubin: thresholds depend on age in hours and gestation, which a range cannot hold)."""

    age_from: AgeBound
    age_to: AgeBound | None
    note: str
    source: str = ""

    def applies(self, date_of_birth: date, on: date) -> bool:
        band = ReferenceRange("any", self.age_from, self.age_to)
        return band.applies("any", date_of_birth, on)


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
    critical_limits: tuple[ReferenceRange, ...] = ()
    conversions: Mapping[str, Conversion] = field(default_factory=dict)
    coded_values: tuple[str, ...] = ()  # non-empty for coded (non-numeric) tests
    normal_values: tuple[str, ...] = ()
    critical_values: tuple[str, ...] = ()
    # values outside these cannot come from a living patient (or, for "%", cannot exist)
    possible_low: float = 0.0
    possible_high: float | None = None
    reviews: tuple[ReviewRule, ...] = ()

    __test__ = False  # not a pytest class, despite the name

    @property
    def is_coded(self) -> bool:
        return bool(self.coded_values)

    @property
    def can_be_critical(self) -> bool:
        return bool(self.critical_values if self.is_coded else self.critical_limits)

    def accepts_specimen(self, specimen_type: str) -> bool:
        return specimen_type in (self.specimen_type, *self.acceptable_specimens)

    def reference_range(self, sex: str, date_of_birth: date, on: date) -> ReferenceRange | None:
        """The interval for this patient, or None when the catalog has none for this age."""
        return _band_for(self.reference_ranges, sex, date_of_birth, on)

    def critical_limit(self, sex: str, date_of_birth: date, on: date) -> ReferenceRange | None:
        return _band_for(self.critical_limits, sex, date_of_birth, on)

    def review(self, date_of_birth: date, on: date) -> ReviewRule | None:
        return next((r for r in self.reviews if r.applies(date_of_birth, on)), None)


def _band_for(
    bands: Iterable[ReferenceRange], sex: str, date_of_birth: date, on: date
) -> ReferenceRange | None:
    """The band for this sex and age. For sex other/unknown the most conservative one: the
    narrowest of the male and female bands (highest low, lowest high), so a value abnormal for
    either sex is flagged (troponin: the female 99th percentile); none unless both exist."""
    found = {
        s: next((b for b in bands if b.applies(s, date_of_birth, on)), None)
        for s in ((sex,) if sex in ("male", "female") else ("male", "female"))
    }
    chosen = list(found.values())
    if any(b is None for b in chosen):
        return None
    first = chosen[0]
    assert first is not None
    if all(b == first for b in chosen):
        return first
    lows = [b.low for b in chosen if b is not None and b.low is not None]
    highs = [b.high for b in chosen if b is not None and b.high is not None]
    low, high = (max(lows) if lows else None), (min(highs) if highs else None)
    if low is not None and high is not None and low > high:
        return None  # the sexes' bands do not even overlap: no safe single interval
    sources = sorted({b.source for b in chosen if b is not None})
    return replace(first, sex="any", low=low, high=high, source="; ".join(sources))


class Catalog:
    """The tests a lab offers, by LOINC code, and the sources its numbers come from."""

    def __init__(
        self,
        version: str,
        tests: Iterable[TestDefinition],
        sources: Mapping[str, str] | None = None,
    ) -> None:
        self.version = version
        self._tests = {t.loinc_code: t for t in tests}
        self.sources = dict(sources or {})

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
    """Parse and check the catalog file: every unit UCUM, every number with a known source,
    no overlapping bands, conversions that agree with UCUM where UCUM can tell.

    A catalog is immutable reference data and its checks cost a few hundred milliseconds, so a
    process parses one text once (the same text gives the same, shared Catalog)."""
    return _parse_catalog(Path(path).read_text(encoding="utf-8"))


@lru_cache(maxsize=8)
def _parse_catalog(text: str) -> Catalog:
    raw = yaml.safe_load(text)
    sources = {str(k): str(v) for k, v in (raw.get("sources") or {}).items()}
    tests = [_test_from_yaml(t, sources) for t in raw["tests"]]
    return Catalog(str(raw["catalog_version"]), tests, sources)


def _test_from_yaml(raw: dict[str, Any], sources: Mapping[str, str]) -> TestDefinition:
    name = str(raw.get("name", raw.get("loinc")))

    def cited(key: Any, what: str) -> str:
        keys = [k.strip() for k in str(key or "").split(";") if k.strip()]
        missing = [k for k in keys if k not in sources]
        if not keys or missing:
            raise CatalogError(f"{name}: {what} needs a source from 'sources' (got {key!r})")
        return "; ".join(keys)

    def bands(items: Any, what: str) -> tuple[ReferenceRange, ...]:
        out = tuple(_band(b, cited(b.get("src"), what)) for b in items or ())
        _check_no_overlap(name, what, out)
        return out

    coded = raw.get("coded", {})
    possible = raw.get("possible", {})
    test = TestDefinition(
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
        reference_ranges=bands(raw.get("ranges"), "reference range"),
        critical_limits=bands(raw.get("critical"), "critical limit"),
        conversions={
            str(unit): Conversion(
                float(c["factor"]), float(c.get("offset", 0.0)), cited(c.get("src"), unit)
            )
            for unit, c in (raw.get("conversions") or {}).items()
        },
        coded_values=tuple(coded.get("values", ())),
        normal_values=tuple(coded.get("normal", ())),
        critical_values=tuple(coded.get("critical", ())),
        possible_low=float(possible.get("low", 0.0)),
        possible_high=float(possible["high"]) if "high" in possible else None,
        reviews=tuple(
            ReviewRule(*_ages(r["age"]), note=str(r["note"]), source=cited(r.get("src"), "review"))
            for r in raw.get("review") or ()
        ),
    )
    if not test.is_coded:
        _check_units(test)
    return test


def _band(raw: dict[str, Any], source: str) -> ReferenceRange:
    return ReferenceRange(raw["sex"], *_ages(raw["age"]), raw.get("low"), raw.get("high"), source)


def _ages(text: Any) -> tuple[AgeBound, AgeBound | None]:
    start, _, end = str(text).partition("-")
    return AgeBound.parse(start), AgeBound.parse(end) if end else None


def _check_no_overlap(name: str, what: str, bands: tuple[ReferenceRange, ...]) -> None:
    def span(b: ReferenceRange) -> tuple[float, float]:
        end = b.age_to.amount * _DAYS[b.age_to.unit] if b.age_to else float("inf")
        return b.age_from.amount * _DAYS[b.age_from.unit], end

    for i, a in enumerate(bands):
        for b in bands[i + 1 :]:
            (a0, a1), (b0, b1) = span(a), span(b)
            sexes_meet = "any" in (a.sex, b.sex) or a.sex == b.sex
            if sexes_meet and max(a0, b0) < min(a1, b1):
                raise CatalogError(f"{name}: {what}s {a.band} and {b.band} overlap")


def _check_units(test: TestDefinition) -> None:
    try:
        check_ucum(test.unit)
        for unit, conversion in test.conversions.items():
            check_ucum(unit)
            if conversion.factor <= 0:
                raise UnitError(f"the factor from {unit!r} must be positive")
            expected = ucum_factor(unit, test.unit)
            wrong = expected is not None and abs(conversion.factor - expected) > 1e-6 * expected
            if conversion.offset == 0 and wrong:
                raise UnitError(f"1 {unit} is {expected:g} {test.unit}, not {conversion.factor:g}")
    except UnitError as exc:
        raise CatalogError(f"{test.name}: {exc}") from None
