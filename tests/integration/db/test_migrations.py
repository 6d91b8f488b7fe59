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
