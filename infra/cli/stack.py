"""`lis stack up | down | status | logs`: the local stack, no Docker needed."""

from __future__ import annotations

import contextlib
import subprocess
import time
from typing import Annotated

import typer

from infra.config.settings import get_settings
from infra.stack import services as stack
from infra.stack.common import StackError
from infra.stack.smtp_server import SmtpServer

app = typer.Typer(no_args_is_help=True, help="Local stack: Postgres, Redis, Kafka, registry, SMTP.")


def _say(line: str) -> None:
    typer.echo(line, err=False)


@app.command("up")
def up() -> None:
    """Install and start whatever is not answering; wait until all five services answer."""
    started = time.monotonic()
    try:
        stack.up(get_settings(), _say)
    except StackError as exc:
        typer.secho(f"stack up failed: {exc}", fg=typer.colors.RED, err=True)
        raise typer.Exit(1) from exc
    _say(f"stack up in {time.monotonic() - started:.1f}s")


@app.command("down")
def down() -> None:
    """Stop what `lis stack up` started (graceful, then kill). Data stays in stack_home."""
    try:
        stack.down(get_settings(), _say)
    except StackError as exc:
        typer.secho(f"stack down failed: {exc}", fg=typer.colors.RED, err=True)
        raise typer.Exit(1) from exc


@app.command("status")
def status() -> None:
    """Each service with version, address and health; exit 1 if any is unhealthy."""
    unhealthy = 0
    for service in stack.all_services(get_settings()):
        ok = service.healthy()
        unhealthy += not ok
        version = (service.version() if ok else None) or "-"
        typer.secho(
            f"{service.name:<9} {version:<8} {service.address:<42} "
            f"{'healthy' if ok else 'DOWN':<8} {service.log_file}",
            fg=typer.colors.GREEN if ok else typer.colors.RED,
        )
        if isinstance(service, SmtpServer):  # where the emails are, and how many
            typer.echo(f"{'':<9} maildir {service.maildir} ({service.messages()} messages)")
    if unhealthy:
        raise typer.Exit(1)


@app.command("logs")
def logs(
    service: Annotated[
        str | None, typer.Argument(help="postgres|redis|kafka|registry|smtp")
    ] = None,
    lines: Annotated[int, typer.Option("--lines", "-n", help="Lines to show per log.")] = 50,
    follow: Annotated[bool, typer.Option("--follow", "-f", help="Keep following.")] = False,
) -> None:
    """Tail the logs of one service, or of all of them."""
    services = stack.all_services(get_settings())
    names = [s.name for s in services]
    if service is not None and service not in names:
        typer.secho(f"unknown service {service!r}; one of {', '.join(names)}", err=True)
        raise typer.Exit(2)
    files = [str(s.log_file) for s in services if service in (None, s.name) and s.log_file.exists()]
    if not files:
        typer.echo("no logs yet (has `lis stack up` run?)")
        return
    cmd = ["tail", "-n", str(lines), *(["-F"] if follow else []), *files]
    with contextlib.suppress(KeyboardInterrupt):  # Ctrl-C ends --follow; not an error
        subprocess.run(cmd, check=False)
