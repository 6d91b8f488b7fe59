"""``lis db``: the database schema (Alembic)."""

from __future__ import annotations

import typer

from infra.config.settings import get_settings

app = typer.Typer(no_args_is_help=True, help="Database schema (Alembic).")


@app.command("upgrade")
def upgrade(revision: str = "head") -> None:
    """Apply migrations up to REVISION (default: head)."""
    from infra.db.migrate import upgrade as alembic_upgrade

    alembic_upgrade(get_settings().database_url, revision)
    typer.echo(f"database at {revision}")
