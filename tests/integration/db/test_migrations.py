"""Alembic migrations on real Postgres: up from empty, down to nothing, up again, no drift."""

from __future__ import annotations

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine, inspect, text

from infra.db.migrate import alembic_config, downgrade, upgrade
from infra.db.tables import Base

pytestmark = pytest.mark.integration


def tables_of(url: str) -> set[str]:
    engine = create_engine(url)
    try:
        return set(inspect(engine).get_table_names()) - {"alembic_version"}
    finally:
        engine.dispose()


def test_the_migrations_form_one_line_of_history(fresh_database_url: str) -> None:
    heads = ScriptDirectory.from_config(alembic_config(fresh_database_url)).get_heads()
    assert len(heads) == 1


def test_the_schema_goes_down_to_nothing_and_up_again(fresh_database_url: str) -> None:
    assert tables_of(fresh_database_url) == set(Base.metadata.tables)
    downgrade(fresh_database_url, "base")
    assert tables_of(fresh_database_url) == set()
    upgrade(fresh_database_url)
    assert tables_of(fresh_database_url) == set(Base.metadata.tables)


def test_the_migrated_schema_matches_the_table_definitions(fresh_database_url: str) -> None:
    engine = create_engine(fresh_database_url)
    try:
        with engine.connect() as conn:
            context = MigrationContext.configure(conn, opts={"compare_type": True})
            assert compare_metadata(context, Base.metadata) == []
    finally:
        engine.dispose()


def test_the_trigram_extension_is_installed_and_removed_with_the_domain_tables(
    fresh_database_url: str,
) -> None:
    def has_trgm() -> bool:
        engine = create_engine(fresh_database_url)
        try:
            with engine.connect() as conn:
                query = text("SELECT count(*) FROM pg_extension WHERE extname = 'pg_trgm'")
                return bool(conn.scalar(query))
        finally:
            engine.dispose()

    assert has_trgm()
    downgrade(fresh_database_url, "0001")
    assert not has_trgm()


def test_a_database_holding_patients_from_before_issue_12_upgrades_with_their_keys(
    fresh_database_url: str,
) -> None:
    """Migrations run on real data, not only on empty databases: a patient registered before
    the duplicate key changed (0004) gets the new key, in its column and in its snapshot."""
    downgrade(fresh_database_url, "0004")
    engine = create_engine(fresh_database_url)
    try:
        with engine.begin() as conn:
            conn.execute(
                text(
                    "INSERT INTO patients (id, organization_id, version, status, data, mrn,"
                    " family_name, given_name, date_of_birth, duplicate_key)"
                    " VALUES ('p-1', 'org-1', 1, 'active', '{\"id\": \"p-1\"}', '0000000018',"
                    " 'Patel', 'Aarti', '1980-04-10', 'patel|aarti|1980-04-10|+919800000001')"
                )
            )
        upgrade(fresh_database_url)
        with engine.connect() as conn:
            row = conn.execute(
                text("SELECT duplicate_key, data->>'duplicate_key' AS snap FROM patients")
            ).one()
    finally:
        engine.dispose()
    assert (row.duplicate_key, row.snap) == ("patel|aarti|1980-04-10",) * 2
