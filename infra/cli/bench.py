"""``lis bench``: benchmarks against the local stack, each beside a raw baseline in one run."""

from __future__ import annotations

from typing import Annotated

import typer

from infra.config.settings import get_settings

app = typer.Typer(no_args_is_help=True, help="Benchmarks against the local stack.")


@app.command("relay")
def relay(
    events: Annotated[int, typer.Option(help="Outbox rows to publish.")] = 200_000,
    batch: Annotated[int, typer.Option(help="Relay batch size.")] = 5000,
    workers: Annotated[int, typer.Option(min=1, max=64, help="Relay worker processes.")] = 2,
    runs: Annotated[int, typer.Option(min=1, help="Runs of each side; the best counts.")] = 3,
    profile: Annotated[
        bool, typer.Option(help="Profile the relay with pyinstrument (--workers 1 only).")
    ] = False,
) -> None:
    """Relay throughput against a raw producer sending the same bytes (fresh DB and topics)."""
    from infra.bench.relay import run_bench

    if profile and workers != 1:
        raise typer.BadParameter("--profile profiles this process: use --workers 1")
    result = run_bench(
        get_settings(),
        events=events,
        batch_size=batch,
        workers=workers,
        runs=runs,
        profile=profile,
    )
    typer.echo(result.summary())


@app.command("worker")
def worker(
    events: Annotated[int, typer.Option(help="Events to process (copies of real ones).")] = 200_000,
    runs: Annotated[int, typer.Option(min=1, help="Runs of each side; the best counts.")] = 3,
    profile: Annotated[
        bool, typer.Option(help="Profile the processor's consumer thread (pyinstrument).")
    ] = False,
) -> None:
    """Read-model processor throughput against a raw consume + fastavro decode loop (same
    messages: the namespace's real events copied with fresh ids, on a fresh topic)."""
    from infra.bench.worker import run_bench

    typer.echo(run_bench(get_settings(), events=events, runs=runs, profile=profile).summary())
