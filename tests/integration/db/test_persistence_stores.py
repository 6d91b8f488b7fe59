"""Reference data and sequences in Postgres: the test catalog, MRNs, accession numbers; and the
Aadhaar vault they sit beside."""

from __future__ import annotations

import dataclasses
from concurrent.futures import ThreadPoolExecutor
from datetime import date

import pytest
from cryptography.fernet import Fernet
from sqlalchemy import Engine

from domains.catalog.model import Catalog, load_catalog
from domains.patient.identifiers import check_mrn, mrn_from_sequence
from domains.sample.ports import accession_number
from infra.config.settings import get_settings
from infra.crypto.aadhaar_vault import FernetAadhaarVault, VaultError
from infra.db.catalog_store import (
    CatalogVersionMismatch,
    SqlAccessionSource,
    SqlMrnSource,
    read_catalog,
    store_catalog,
)

pytestmark = pytest.mark.integration
AADHAAR = "234123412346"


def test_the_catalog_is_stored_once_per_version_and_reads_back_whole(engine: Engine) -> None:
    catalog = load_catalog()
    assert store_catalog(engine, catalog) is True
    assert store_catalog(engine, catalog) is False
    stored = read_catalog(engine)
    assert stored.version == catalog.version
    assert sorted(stored, key=lambda t: t.loinc_code) == sorted(catalog, key=lambda t: t.loinc_code)


def test_a_changed_catalog_under_an_old_version_is_refused(engine: Engine) -> None:
    catalog = load_catalog()
    store_catalog(engine, catalog)
    first, *rest = list(catalog)
    edited = Catalog(catalog.version, [dataclasses.replace(first, tat_minutes=1), *rest])
    with pytest.raises(CatalogVersionMismatch):
        store_catalog(engine, edited)
    store_catalog(engine, Catalog("next", edited))
    assert read_catalog(engine).version == "next"
    assert read_catalog(engine, catalog.version).get(first.loinc_code) == first


def test_mrns_count_per_organization_without_duplicates_under_concurrency(engine: Engine) -> None:
    source = SqlMrnSource(engine)
    with ThreadPoolExecutor(4) as pool:
        mrns = list(pool.map(lambda _: source.next_mrn("org-a"), range(40)))
    assert sorted(mrns) == [mrn_from_sequence(n) for n in range(1, 41)]
    assert all(check_mrn(m) for m in mrns)
    assert source.next_mrn("org-b") == mrn_from_sequence(1)


def test_accession_numbers_restart_each_day(engine: Engine) -> None:
    source = SqlAccessionSource(engine)
    monday, tuesday = date(2024, 6, 17), date(2024, 6, 18)
    assert source.next_accession("org-a", monday) == accession_number(monday, 1)
    assert source.next_accession("org-a", monday) == accession_number(monday, 2)
    assert source.next_accession("org-a", tuesday) == accession_number(tuesday, 1)


def test_the_vault_round_trips_and_its_tokens_reveal_nothing() -> None:
    vault = FernetAadhaarVault(get_settings().phi_key)
    token = vault.encrypt(AADHAAR)
    assert AADHAAR not in token
    assert vault.encrypt(AADHAAR) != token  # randomized: equal numbers are not linkable
    assert vault.decrypt(token) == AADHAAR
    assert get_settings().phi_key.get_secret_value() not in repr(vault)


def test_a_rotated_key_still_reads_old_tokens_and_a_wrong_key_fails_without_leaking() -> None:
    old_key = get_settings().phi_key.get_secret_value()
    token = FernetAadhaarVault(old_key).encrypt(AADHAAR)
    new_key = Fernet.generate_key().decode()
    assert FernetAadhaarVault(f"{new_key},{old_key}").decrypt(token) == AADHAAR
    with pytest.raises(VaultError) as error:
        FernetAadhaarVault(new_key).decrypt(token)
    assert AADHAAR not in str(error.value)
