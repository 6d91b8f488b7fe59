"""The one entry point: ``lis``. Each area adds its sub-commands here."""

from __future__ import annotations

import typer

from infra.logging import configure_logging
from infra.relay_cli import register as register_relay_commands
from infra.schemas_cli import app as schemas_app
from infra.settings import get_settings
from infra.simulation.cli import register as register_simulation_commands
from infra.stack.cli import stack_app
from infra.trace import trace

app = typer.Typer(no_args_is_help=True, help="Laboratory information system on Kafka.")
db_app = typer.Typer(no_args_is_help=True, help="Database schema (Alembic).")
app.add_typer(db_app, name="db")
register_relay_commands(app)  # relay, topics, bench
app.add_typer(stack_app, name="stack")
app.add_typer(schemas_app, name="schemas")
register_simulation_commands(app)  # simulate, demo
app.command("trace")(trace)


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
