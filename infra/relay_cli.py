"""`lis relay`, `lis topics create`, `lis bench relay`: the publishing side's commands."""

from __future__ import annotations

from functools import partial
from typing import TYPE_CHECKING, Annotated

import typer

from infra.settings import Settings, get_settings

if TYPE_CHECKING:  # the commands import their modules late: `lis --help` stays fast
    from producers.relay import Relay

topics_app = typer.Typer(no_args_is_help=True, help="Kafka topics.")
bench_app = typer.Typer(no_args_is_help=True, help="Benchmarks against the local stack.")


def build_relay(settings: Settings, batch_size: int, worker: int = 0, workers: int = 1) -> Relay:
    """Wire a relay worker to the registry: each row is framed with the id of the schema it was
    written with (its fingerprint), the committed schemas registered on first use.

    Module level and built from picklable arguments: worker processes call it themselves."""
    from infra.logging import configure_logging
    from producers.kafka_config import producer_config
    from producers.registry import SchemaIds, registry_client
    from producers.relay import Relay
    from producers.writer_schemas import WriterSchemaIds

    configure_logging(settings.log_level)  # a spawned worker starts unconfigured
    client = registry_client(settings.schema_registry_url)
    return Relay(
        settings.database_url,
        producer_config(settings),
        WriterSchemaIds(SchemaIds(client), client),
        batch_size=batch_size,
        worker=worker,
        workers=workers,
    )


def relay(
    once: Annotated[bool, typer.Option(help="Publish what is committed now, then exit.")] = False,
    batch: Annotated[int, typer.Option(help="Rows per batch (one flush, one delete).")] = 5000,
    workers: Annotated[
        int, typer.Option(min=1, max=64, help="Worker processes; each owns a slice of aggregates.")
    ] = 2,
) -> None:
    """Publish the outbox to Kafka (until SIGTERM/SIGINT, or once)."""
    from producers import relay_workers
    from producers.fingerprints import UnknownWriterSchemaError

    factory = partial(build_relay, get_settings(), batch)
    try:
        if once:
            report = relay_workers.drain(factory, workers)
            typer.echo(f"published {report.published} events")
        else:
            relay_workers.run(factory, workers)
    except UnknownWriterSchemaError as exc:
        typer.echo(f"relay stopped: {exc}", err=True)
        raise typer.Exit(3) from exc


@topics_app.command("create")
def topics_create() -> None:
    """Create the event topics (idempotent); report settings that drifted."""
    from producers.topics import ensure_topics

    report = ensure_topics(get_settings())
    for name in report.created:
        typer.echo(f"created  {name}")
    for name in report.existing:
        typer.echo(f"exists   {name}")
    for name, diff in report.drift.items():
        for key, (want, have) in diff.items():
            typer.echo(f"DRIFT    {name}: {key} is {have}, expected {want}")
    if report.drift:
        raise typer.Exit(1)


@bench_app.command("relay")
def bench_relay(
    events: Annotated[int, typer.Option(help="Outbox rows to publish.")] = 200_000,
    batch: Annotated[int, typer.Option(help="Relay batch size.")] = 5000,
    workers: Annotated[int, typer.Option(min=1, max=64, help="Relay worker processes.")] = 2,
    runs: Annotated[int, typer.Option(min=1, help="Runs of each side; the best counts.")] = 3,
    profile: Annotated[
        bool, typer.Option(help="Profile the relay with pyinstrument (--workers 1 only).")
    ] = False,
) -> None:
    """Relay throughput against a raw producer sending the same bytes (fresh DB and topics)."""
    from producers.bench import run_bench

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


def register(app: typer.Typer) -> None:
    app.command("relay")(relay)
    app.add_typer(topics_app, name="topics")
    app.add_typer(bench_app, name="bench")
