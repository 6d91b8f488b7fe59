"""Run Alembic from code (``lis db upgrade``, test set-up), and scratch databases migrated
to head."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager

from alembic import command
from alembic.config import Config
from sqlalchemy import create_engine, make_url, text

from infra.config.settings import REPO_ROOT


def alembic_config(database_url: str) -> Config:
    config = Config(str(REPO_ROOT / "alembic.ini"))
    config.attributes["url"] = database_url
    return config


def upgrade(database_url: str, revision: str = "head") -> None:
    command.upgrade(alembic_config(database_url), revision)


def downgrade(database_url: str, revision: str) -> None:
    command.downgrade(alembic_config(database_url), revision)


@contextmanager
def scratch_database(database_url: str, prefix: str) -> Iterator[str]:
    """A new database on the same server (``{prefix}_{random}``), migrated to head, dropped
    (connections and all) on exit: the URL of it. For tests and benchmarks that must not
    touch the database they were pointed at."""
    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    admin = create_engine(
        make_url(database_url).set(database="postgres"), isolation_level="AUTOCOMMIT"
    )
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        try:
            url = make_url(database_url).set(database=name).render_as_string(hide_password=False)
            upgrade(url)
            yield url
        finally:
            with admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    finally:
        admin.dispose()
