from __future__ import annotations

from datetime import date

import pytest

from domains.catalog.interpretation import interpret, read_value
from domains.catalog.model import Catalog
from domains.shared.errors import InvalidInput
from tests.unit.fakes import shared_catalog


@pytest.fixture
def catalog() -> Catalog:
    return shared_catalog()


class TestLoadingTheCatalog:
    def test_the_catalog_has_about_thirty_common_tests_and_a_version(
        self, catalog: Catalog
    ) -> None:
        assert len(catalog) >= 30
        assert catalog.version

    def test_potassium_has_realistic_ranges_and_critical_limits(self, catalog: Catalog) -> None:
        k = catalog.get("2823-3")
        adult = k.reference_range("male", date(1980, 1, 1), date(2024, 6, 1))
        critical = k.critical_limit("male", date(1980, 1, 1), date(2024, 6, 1))
        assert adult is not None
        assert critical is not None
        assert (k.unit, critical.low, critical.high) == ("mmol/L", 2.8, 6.2)
        assert (adult.low, adult.high) == (3.5, 5.1)

    def test_an_unknown_loinc_code_is_invalid_input(self, catalog: Catalog) -> None:
        with pytest.raises(InvalidInput) as err:
            catalog.get("0000-0", field="loinc_codes")
        assert err.value.field == "loinc_codes"

    def test_every_numeric_test_has_a_unit_and_every_test_a_container(
        self, catalog: Catalog
    ) -> None:
        for test in catalog:
            assert test.container
            assert test.department
            assert test.bench
            assert test.tat_minutes > 0
            assert test.is_coded or (test.unit and test.reference_ranges)


class TestReferenceRangesBySexAndAge:
    def test_hemoglobin_ranges_differ_by_sex_for_adults(self, catalog: Catalog) -> None:
        hb = catalog.get("718-7")
        man = hb.reference_range("male", date(1990, 1, 1), date(2024, 1, 1))
        woman = hb.reference_range("female", date(1990, 1, 1), date(2024, 1, 1))
        assert man is not None
        assert woman is not None
        assert man.low == 13.0
        assert woman.low == 12.0

    def test_a_neonate_gets_the_neonatal_potassium_range(self, catalog: Catalog) -> None:
        k = catalog.get("2823-3")
        baby = k.reference_range("female", date(2024, 6, 1), date(2024, 6, 10))
        assert baby is not None
        assert baby.high == 5.9

    def test_age_bands_switch_on_the_birthday_not_a_day_early(self, catalog: Catalog) -> None:
        creat = catalog.get("2160-0")
        dob = date(2006, 6, 15)
        day_before = creat.reference_range("male", dob, date(2024, 6, 14))
        birthday = creat.reference_range("male", dob, date(2024, 6, 15))
        assert day_before is not None
        assert birthday is not None
        # the 16-18 y band (Quest) until the day before, the adult one from the birthday on
        assert (day_before.high, birthday.high) == (1.2, 1.3)

    def test_sex_unknown_takes_the_narrowest_of_the_male_and_female_ranges(
        self, catalog: Catalog
    ) -> None:
        # issue 12 (15): the widest band (12-17) under-flagged; the narrowest flags a value
        # abnormal for either sex
        hb = catalog.get("718-7")
        merged = hb.reference_range("unknown", date(1990, 1, 1), date(2024, 1, 1))
        assert merged is not None
        assert (merged.low, merged.high) == (13.0, 15.0)


class TestFlaggingAValue:
    @pytest.mark.parametrize(
        ("value", "flag"), [("2.5", "LL"), ("3.2", "L"), ("4.0", "N"), ("5.5", "H"), ("6.5", "HH")]
    )
    def test_potassium_flags(self, catalog: Catalog, value: str, flag: str) -> None:
        k = catalog.get("2823-3")
        reading = read_value(k, value, "mmol/L")
        got = interpret(k, reading, sex="male", date_of_birth=date(1980, 1, 1), on=date(2024, 1, 1))
        assert got.flag == flag
        assert got.is_critical == (flag in ("LL", "HH"))

    def test_glucose_in_mmol_per_litre_is_converted_to_mg_per_decilitre(
        self, catalog: Catalog
    ) -> None:
        reading = read_value(catalog.get("2345-7"), "5.5", "mmol/L")
        assert reading.unit == "mg/dL"
        assert reading.value_text == "99"
        assert (reading.entered_value_text, reading.entered_unit) == ("5.5", "mmol/L")

    def test_a_unit_that_cannot_be_converted_is_refused_on_the_unit_field(
        self, catalog: Catalog
    ) -> None:
        with pytest.raises(InvalidInput) as err:
            read_value(catalog.get("2823-3"), "4.0", "mg/dL")
        assert err.value.field == "unit"

    def test_a_coded_result_outside_the_normal_answers_is_flagged_abnormal(
        self, catalog: Catalog
    ) -> None:
        hbsag = catalog.get("5196-1")
        reading = read_value(hbsag, "reactive", None)
        got = interpret(
            hbsag, reading, sex="male", date_of_birth=date(1980, 1, 1), on=date(2024, 1, 1)
        )
        assert (reading.value_text, got.flag) == ("Reactive", "A")

    def test_the_value_as_entered_keeps_its_precision(self, catalog: Catalog) -> None:
        reading = read_value(catalog.get("2823-3"), "4.10", "mmol/L")
        assert (reading.value, reading.value_text) == (4.1, "4.10")
