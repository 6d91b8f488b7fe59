"""``lis relay`` and ``lis topics``: the publishing side's commands."""

from __future__ import annotations

from functools import partial
from typing import Annotated

import typer

from infra.config.settings import get_settings

topics_app = typer.Typer(no_args_is_help=True, help="Kafka topics.")


def relay(
    once: Annotated[bool, typer.Option(help="Publish what is committed now, then exit.")] = False,
    batch: Annotated[int, typer.Option(help="Rows per batch (one flush, one delete).")] = 5000,
    workers: Annotated[
        int, typer.Option(min=1, max=64, help="Worker processes; each owns a slice of aggregates.")
    ] = 2,
) -> None:
    """Publish the outbox to Kafka (until SIGTERM/SIGINT, or once)."""
    from infra.bootstrap import build_relay
    from producers import relay_workers
    from schemas.fingerprints import UnknownWriterSchemaError

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
    """Create the event topics of this namespace (idempotent); report settings that drifted."""
    from producers.topics import ensure_topics

    settings = get_settings()
    report = ensure_topics(settings.kafka_bootstrap, settings.topics())
    for name in report.created:
        typer.echo(f"created  {name}")
    for name in report.existing:
        typer.echo(f"exists   {name}")
    for name, diff in report.drift.items():
        for key, (want, have) in diff.items():
            typer.echo(f"DRIFT    {name}: {key} is {have}, expected {want}")
    if report.drift:
        raise typer.Exit(1)


@topics_app.command("verify")
def topics_verify(
    timeout: Annotated[float, typer.Option(help="Seconds to read the topics to their end.")] = 300,
) -> None:
    """Read this namespace's event topics with a stock AvroDeserializer and check their
    contract: keys on their murmur2 partitions, versions 1..n per aggregate. Exit 1 if not."""
    from consumers.topic_audit import audit_topics

    settings = get_settings()
    report = audit_topics(
        settings.kafka_bootstrap, settings.schema_registry_url, settings.topics(), timeout_s=timeout
    )
    typer.echo("\n".join(report.lines()))
    if not report.clean:
        raise typer.Exit(1)
