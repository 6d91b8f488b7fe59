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


@app.command("api")
def api(
    rate: Annotated[float, typer.Option(min=1, help="Requests per second (open loop).")] = 200,
    seconds: Annotated[float, typer.Option(min=1, help="How long the load runs.")] = 30,
    workers: Annotated[int, typer.Option(min=1, help="uvicorn worker processes.")] = 2,
    port: Annotated[int, typer.Option(help="Port of the benchmark's API server.")] = 8199,
    baseline: Annotated[int, typer.Option(min=10, help="Commands of the bus baseline.")] = 500,
) -> None:
    """Result entry through the API at a fixed rate with real tokens, beside the bus (no HTTP)
    and a trivial endpoint at the same rate; p50/p95/p99, errors and CPU per request."""
    from infra.bench.api import run_bench

    runs = run_bench(
        get_settings(), rate=rate, seconds=seconds, workers=workers, port=port, baseline=baseline
    )
    typer.echo(f"rate {rate:.0f}/s for {seconds:.0f} s, API workers {workers}; latency in ms")
    for run in runs:
        typer.echo(run.line())
    entered = runs[-1]
    ok = sum(v for k, v in entered.statuses.items() if 200 <= k < 300)
    typer.echo(f"statuses of the EnterResult run: {dict(entered.statuses)} ({ok} entered)")


@app.command("replay")
def replay(
    events: Annotated[int, typer.Option(help="Events written to a fresh topic, then read.")] = (
        1_000_000
    ),
    workers: Annotated[int, typer.Option(min=1, max=6, help="Reader processes per side.")] = 2,
    runs: Annotated[int, typer.Option(min=1, help="Runs of each side; the best counts.")] = 2,
) -> None:
    """Replay's decode rate against a raw consumer + fastavro reading the same messages."""
    from infra.bench.replay import run_bench

    typer.echo(run_bench(get_settings(), events=events, workers=workers, runs=runs).summary())


@app.command("critical")
def critical(
    criticals: Annotated[int, typer.Option(min=20, help="Critical values to time.")] = 200,
    rate: Annotated[float, typer.Option(help="Entered per second (paced).")] = 10.0,
) -> None:
    """Critical loop latency: result committed -> email in the Maildir (p50/p95/p99), beside
    a raw SMTP send to the same server."""
    import logging

    import structlog

    from infra.bench.critical import run_bench

    # one log line per command would bury the numbers; warnings and errors still show
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))
    typer.echo(run_bench(get_settings(), criticals=criticals, rate=rate).summary())


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
