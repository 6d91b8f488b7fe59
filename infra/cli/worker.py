"""``lis worker``: run stream processors."""

from __future__ import annotations

from typing import Annotated

import typer

from infra.config.settings import get_settings


def worker(
    names: Annotated[
        list[str] | None,
        typer.Argument(help="Processors to run, one process each (default: all of them)."),
    ] = None,
) -> None:
    """Run processors until SIGTERM/SIGINT (each finishes the message in hand)."""
    from infra.bootstrap import worker_names
    from infra.workers import supervise

    known = worker_names()
    chosen = names or known
    unknown = [n for n in chosen if n not in known]
    if unknown:
        raise typer.BadParameter(
            f"unknown processor(s) {', '.join(unknown)}; known: {', '.join(known)}"
        )
    supervise(get_settings(), chosen)
