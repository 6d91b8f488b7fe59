"""The one entry point, ``lis``: one module per subcommand group, assembled here.

Commands import what they run late (inside the function), so ``lis --help`` stays fast and a
broken area never takes the others down.
"""

from __future__ import annotations

import typer

from infra.cli import (
    api,
    bench,
    db,
    directory,
    hl7,
    projections,
    relay,
    replay,
    schemas,
    simulation,
    stack,
    trace,
    worker,
)
from infra.config.logging import configure_logging
from infra.config.settings import get_settings

app = typer.Typer(no_args_is_help=True, help="Laboratory information system on Kafka.")
app.add_typer(stack.app, name="stack")
app.add_typer(db.app, name="db")
app.add_typer(relay.topics_app, name="topics")
app.add_typer(schemas.app, name="schemas")
app.command("relay")(relay.relay)
app.command("worker")(worker.worker)
app.command("simulate")(simulation.simulate)
app.command("demo")(simulation.demo)
app.command("trace")(trace.trace)
app.command("replay")(replay.replay)
app.add_typer(bench.app, name="bench")
app.add_typer(hl7.app, name="hl7")
app.command("serve")(api.serve)
app.add_typer(api.app, name="api")
app.add_typer(directory.app, name="directory")
app.add_typer(projections.app, name="projections")


@app.callback()
def _setup() -> None:
    configure_logging(get_settings().log_level)


def main() -> None:
    app()
