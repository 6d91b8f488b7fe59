"""`lis relay`, `lis topics create`, `lis bench relay`: the publishing side's commands."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from infra.settings import Settings, get_settings

if TYPE_CHECKING:  # the commands import their modules late: `lis --help` stays fast
    from producers.relay import Relay

topics_app = typer.Typer(no_args_is_help=True, help="Kafka topics.")
bench_app = typer.Typer(no_args_is_help=True, help="Benchmarks against the local stack.")


def build_relay(settings: Settings, batch_size: int) -> Relay:
    """Wire a relay to the registry: schema ids come from registering the committed schemas."""
    from producers.kafka_config import producer_config
    from producers.registry import SchemaIds, registry_client
    from producers.relay import Relay

    ids = SchemaIds(registry_client(settings.schema_registry_url))
    return Relay(
        settings.database_url,
        producer_config(settings),
        lambda _topic, schema_name: ids.id_for(schema_name),
        batch_size=batch_size,
    )


def relay(
    once: Annotated[bool, typer.Option(help="Publish what is committed now, then exit.")] = False,
    batch: Annotated[int, typer.Option(help="Rows per transaction.")] = 5000,
) -> None:
    """Publish the outbox to Kafka (until SIGTERM/SIGINT, or once)."""
    r = build_relay(get_settings(), batch)
    if once:
        typer.echo(f"published {r.drain()} events")
        r.close()
    else:
        r.run()


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
    profile: Annotated[bool, typer.Option(help="Profile the relay with pyinstrument.")] = False,
) -> None:
    """Relay throughput against a raw producer sending the same bytes (fresh DB and topics)."""
    from producers.bench import run_bench

    result = run_bench(get_settings(), events=events, batch_size=batch, profile=profile)
    typer.echo(result.summary())


def register(app: typer.Typer) -> None:
    app.command("relay")(relay)
    app.add_typer(topics_app, name="topics")
    app.add_typer(bench_app, name="bench")
