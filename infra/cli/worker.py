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
    from infra.bootstrap import PROCESSORS
    from infra.workers import supervise

    chosen = names or list(PROCESSORS)
    unknown = [n for n in chosen if n not in PROCESSORS]
    if unknown:
        raise typer.BadParameter(
            f"unknown processor(s) {', '.join(unknown)}; known: {', '.join(PROCESSORS)}"
        )
    supervise(get_settings(), chosen)
