"""The one entry point: ``lis``. Each area adds its sub-commands here."""

from __future__ import annotations

import typer

from infra.logging import configure_logging
from infra.settings import get_settings

app = typer.Typer(no_args_is_help=True, help="Laboratory information system on Kafka.")
db_app = typer.Typer(no_args_is_help=True, help="Database schema (Alembic).")
app.add_typer(db_app, name="db")


@app.callback()
def _setup() -> None:
    configure_logging(get_settings().log_level)


@db_app.command("upgrade")
def db_upgrade(revision: str = "head") -> None:
    """Apply migrations up to REVISION (default: head)."""
    from infra.db.migrate import upgrade

    upgrade(get_settings().database_url, revision)
    typer.echo(f"database at {revision}")


def main() -> None:
    app()
