"""Issue 12 (part A): how a typed value is read and interpreted against the catalog.

Each test here failed on the catalog 2024.06-1 code: affine HbA1c, censored values, malformed
and impossible numbers, UCUM units, no range = no interpretation, unknown sex, age-banded
critical limits and paediatric intervals, the absolute neutrophil count and urea.
"""

from __future__ import annotations

from datetime import date

import pytest

from domains.catalog.interpretation import Interpretation, interpret, read_value
from domains.catalog.model import Catalog
from domains.shared.errors import InvalidInput
from tests.unit.fakes import shared_catalog

ADULT, ON = date(1980, 1, 1), date(2024, 6, 15)
TEN_DAYS_OLD = date(2024, 6, 5)
K, HB, HCT, GLUCOSE, PLATELETS = "2823-3", "718-7", "4544-3", "2345-7", "777-3"


@pytest.fixture
def catalog() -> Catalog:
    return shared_catalog()


def flag(
    catalog: Catalog,
    code: str,
    value: str,
    unit: str | None = None,
    *,
    sex: str = "male",
    born: date = ADULT,
    censored_at_bound: bool = False,
) -> Interpretation:
    test = catalog.get(code)
    reading = read_value(test, value, unit if unit is not None else test.unit)
    policy = {"censored_at_bound": True} if censored_at_bound else {}
    return interpret(test, reading, sex=sex, date_of_birth=born, on=ON, **policy)


class TestConversions:
    def test_hba1c_of_48_mmol_per_mol_is_6_5_percent_and_high(self, catalog: Catalog) -> None:
        hba1c = catalog.get("4548-4")
        reading = read_value(hba1c, "48", "mmol/mol")  # the diabetes threshold (IFCC)
        assert (reading.value_text, reading.unit) == ("6.5", "%")
        got = interpret(hba1c, reading, sex="female", date_of_birth=ADULT, on=ON)
        assert got.flag == "H"

    # Published factors into the catalog unit (AMA/JAMA SI table, reciprocals where the table
    # goes the other way; IFCC master equation for HbA1c at 48 and 97 mmol/mol).
    PUBLISHED = {
        ("2345-7", "mmol/L"): 1 / 0.05551,
        ("2093-3", "mmol/L"): 1 / 0.02586,
        ("2085-9", "mmol/L"): 1 / 0.02586,
        ("13457-7", "mmol/L"): 1 / 0.02586,
        ("2571-8", "mmol/L"): 1 / 0.01129,
        ("2160-0", "umol/L"): 1 / 88.4,
        ("1975-2", "umol/L"): 1 / 17.1,
        ("1968-7", "umol/L"): 1 / 17.1,
        ("17861-6", "mmol/L"): 1 / 0.2495,
        ("3084-1", "umol/L"): 1 / 59.48,
        ("3094-0", "mmol/L"): 1 / 0.357,
        ("3091-6", "mmol/L"): 1 / 0.1665,
        ("3024-7", "pmol/L"): 1 / 12.87,
    }

    def test_every_conversion_in_the_catalog_matches_a_published_value(
        self, catalog: Catalog
    ) -> None:
        for test in catalog:
            for unit, conversion in test.conversions.items():
                if test.loinc_code == "4548-4":
                    assert round(conversion.apply(48), 1) == 6.5
                    assert round(conversion.apply(97), 1) == 11.0
                elif (test.loinc_code, unit) in self.PUBLISHED:
                    expected = self.PUBLISHED[(test.loinc_code, unit)]
                    assert conversion.factor == pytest.approx(expected, rel=2e-3), test.name
                else:  # a unit factor: the loader checked it against UCUM
                    assert conversion.source == "ucum", (test.name, unit)


class TestCensoredValues:
    def test_a_potassium_above_6_2_is_critical(self, catalog: Catalog) -> None:
        got = flag(catalog, K, ">6.2")
        assert (got.flag, got.is_critical) == ("HH", True)

    def test_platelets_above_1000_are_critical_not_merely_high(self, catalog: Catalog) -> None:
        assert flag(catalog, PLATELETS, ">1000").flag == "HH"

    def test_the_reading_keeps_the_comparator_and_the_bound(self, catalog: Catalog) -> None:
        reading = read_value(catalog.get("89579-7"), "< 3", "ng/L")
        assert (reading.comparator, reading.value, reading.value_text) == ("<", 3.0, "<3")

    def test_a_censored_value_is_flagged_as_the_most_extreme_it_may_be(
        self, catalog: Catalog
    ) -> None:
        got = flag(catalog, K, ">5.5")  # may be 7.0
        assert got.flag == "HH"
        assert got.note is not None
        assert "H at its bound" in got.note

    def test_a_lab_may_choose_to_flag_censored_values_at_their_bound(
        self, catalog: Catalog
    ) -> None:
        assert flag(catalog, K, ">5.5", censored_at_bound=True).flag == "H"
        assert flag(catalog, K, ">6.2", censored_at_bound=True).flag == "HH"
        assert flag(catalog, K, "<2.8", censored_at_bound=True).flag == "LL"

    def test_a_value_below_the_detection_limit_of_troponin_is_normal(
        self, catalog: Catalog
    ) -> None:
        assert flag(catalog, "89579-7", "<3", sex="female").flag == "N"


class TestMalformedAndImpossibleValues:
    @pytest.mark.parametrize(
        ("typed", "reason"),
        [
            ("1_000", "separators"),
            ("1,000", "separators"),
            ("1e1", "exponent"),
            ("+3", "sign"),
            (".5", "point"),
            ("5.", "point"),
            ("<=5", "'<' and '>'"),
            ("٣", "not a number"),
            ("nan", "not a number"),
        ],
    )
    def test_a_malformed_number_is_refused_with_the_field_and_reason(
        self, catalog: Catalog, typed: str, reason: str
    ) -> None:
        with pytest.raises(InvalidInput) as err:
            read_value(catalog.get(K), typed, "mmol/L")
        assert err.value.field == "value_text"
        assert reason in str(err.value)

    @pytest.mark.parametrize(("code", "typed"), [(K, "-3"), (HCT, "101"), (HCT, ">100")])
    def test_a_value_that_cannot_exist_is_refused(
        self, catalog: Catalog, code: str, typed: str
    ) -> None:
        test = catalog.get(code)
        with pytest.raises(InvalidInput) as err:
            read_value(test, typed, test.unit)
        assert err.value.field == "value_text"
        assert "not a possible" in str(err.value)


class TestUnits:
    def test_a_ucum_unit_spelled_differently_is_the_same_unit(self, catalog: Catalog) -> None:
        reading = read_value(catalog.get(GLUCOSE), "99", "mg/dl")
        assert (reading.value, reading.unit, reading.entered_unit) == (99.0, "mg/dL", None)
        assert read_value(catalog.get(GLUCOSE), "5.5", "mmol/l").value_text == "99"

    def test_a_unit_that_is_not_ucum_is_refused_as_such(self, catalog: Catalog) -> None:
        with pytest.raises(InvalidInput) as err:
            read_value(catalog.get(K), "4.0", "mEq/L")  # UCUM writes meq/L
        assert err.value.field == "unit"
        assert "UCUM" in str(err.value)


class TestNoApplicableRange:
    def test_a_ten_day_olds_bilirubin_is_not_read_as_normal(self, catalog: Catalog) -> None:
        got = flag(catalog, "1975-2", "1.0", born=TEN_DAYS_OLD)
        assert got.flag == ""
        assert got.needs_review
        assert got.note is not None
        assert "AAP 2022" in got.note

    def test_a_neonatal_bilirubin_above_the_critical_limit_is_still_critical(
        self, catalog: Catalog
    ) -> None:
        got = flag(catalog, "1975-2", "16.0", born=TEN_DAYS_OLD)
        assert (got.flag, got.needs_review) == ("HH", True)

    def test_a_value_without_an_interval_for_the_age_is_not_interpreted(
        self, catalog: Catalog
    ) -> None:
        got = flag(catalog, "3016-3", "3.0", born=TEN_DAYS_OLD)  # TSH: adult interval only
        assert (got.flag, got.reference_text, got.needs_review) == ("", "", True)
        assert got.note is not None
        assert "not interpreted" in got.note


class TestSexOtherOrUnknown:
    def test_troponin_for_an_unknown_sex_uses_the_lower_female_limit(
        self, catalog: Catalog
    ) -> None:
        got = flag(catalog, "89579-7", "20", sex="unknown")
        assert (got.flag, got.reference_high) == ("H", 16.0)


class TestChildrenAndNewborns:
    @pytest.mark.parametrize(
        ("code", "value", "expected"),
        [
            (K, "6.5", "H"),  # haemolysed heel prick: newborn critical limit is 7.8
            (HB, "20.5", "N"),  # healthy newborn, inside 15-24
            (HCT, "61.0", "N"),  # children's critical limit 62 %
            (GLUCOSE, "35", "L"),  # newborn critical limit 32 mg/dL
            (GLUCOSE, "30", "LL"),
            ("787-2", "105", "N"),  # newborn MCV 99-115
        ],
    )
    def test_a_newborn_is_judged_by_newborn_limits(
        self, catalog: Catalog, code: str, value: str, expected: str
    ) -> None:
        assert flag(catalog, code, value, born=TEN_DAYS_OLD).flag == expected

    def test_an_infants_creatinine_of_0_8_is_high(self, catalog: Catalog) -> None:
        assert flag(catalog, "2160-0", "0.80", born=date(2023, 12, 1)).flag == "H"

    def test_alkaline_phosphatase_has_bands_by_age_and_sex(self, catalog: Catalog) -> None:
        girl, boy = date(2009, 3, 1), date(2009, 3, 1)  # 15 years old
        assert flag(catalog, "6768-6", "350", sex="female", born=girl).flag == "H"
        assert flag(catalog, "6768-6", "350", sex="male", born=boy).flag == "N"

    @pytest.mark.parametrize("code", ["3016-3", "3024-7", "6301-6", "5902-2", "736-9"])
    def test_adult_only_intervals_are_not_applied_to_a_child(
        self, catalog: Catalog, code: str
    ) -> None:
        test = catalog.get(code)
        assert test.reference_range("female", date(2020, 1, 1), ON) is None

    def test_an_absolute_neutrophil_count_below_0_5_is_critical(self, catalog: Catalog) -> None:
        got = flag(catalog, "751-8", "0.4", born=date(2019, 1, 1))
        assert (got.flag, got.critical_low) == ("LL", 0.5)

    def test_urea_is_its_own_test_and_not_urea_nitrogen(self, catalog: Catalog) -> None:
        urea, bun = catalog.get("3091-6"), catalog.get("3094-0")
        assert (urea.name, urea.unit) == ("Urea", "mg/dL")
        assert flag(catalog, "3091-6", "40").flag == "N"
        assert flag(catalog, "3094-0", "40").flag == "H"  # the same number as BUN is high
        assert bun.conversions["mmol/L"].factor != urea.conversions["mmol/L"].factor
