"""`lis replay`: event topics over a range, filtered, to JSON Lines, CSV or Parquet.

Reads as a bystander (assigned partitions, no group, nothing committed), decodes through the
registry and resolves every event to today's schema (an old event gets today's new fields with
their defaults). Progress and rate go to stderr, so stdout can carry the data.
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Annotated, Any

import typer

from consumers.replay import ReplayFilter, ReplaySpec
from producers.topics import AGGREGATE_TYPES, Topics


def parse_time(value: str) -> datetime:
    """ISO 8601; without a zone it is UTC (the events' own zone)."""
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError as exc:
        raise typer.BadParameter(f"{value!r} is not an ISO 8601 time (2026-11-22T08:00)") from exc
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def parse_start(value: str) -> tuple[tuple[str, int], int]:
    """``TOPIC:PARTITION:OFFSET``."""
    topic, _, rest = value.rpartition(":")
    topic, _, partition = topic.rpartition(":")
    try:
        return (topic, int(partition)), int(rest)
    except ValueError as exc:
        raise typer.BadParameter(f"{value!r}: expected TOPIC:PARTITION:OFFSET") from exc


def topic_names(topics: Topics, names: list[str]) -> tuple[str, ...]:
    """Aggregates (``sample``) or full topic names; none = every event topic."""
    if not names:
        return topics.events
    aggregates = {a.lower(): a for a in AGGREGATE_TYPES}
    return tuple(
        topics.for_aggregate(aggregates[n.lower()]) if n.lower() in aggregates else n for n in names
    )


@contextlib.contextmanager
def _output(path: Path | None, binary: bool) -> Iterator[IO[Any]]:
    if path is None:
        yield sys.stdout.buffer if binary else sys.stdout
        return
    with path.open("wb" if binary else "w", encoding=None if binary else "utf-8") as out:
        yield out


def replay(
    topics: Annotated[
        list[str] | None,
        typer.Argument(help="Aggregates (sample, result...) or topic names; default: all."),
    ] = None,
    start: Annotated[
        list[str] | None,
        typer.Option(help="TOPIC:PARTITION:OFFSET to start a partition at (repeatable)."),
    ] = None,
    since: Annotated[str | None, typer.Option(help="From this Kafka time (ISO 8601).")] = None,
    until: Annotated[str | None, typer.Option(help="Before this Kafka time (ISO 8601).")] = None,
    event_type: Annotated[
        list[str] | None, typer.Option("--event-type", help="Only these types (repeatable).")
    ] = None,
    aggregate: Annotated[
        list[str] | None, typer.Option("--aggregate", help="Only these aggregate ids.")
    ] = None,
    org: Annotated[
        list[str] | None, typer.Option("--org", help="Only these organizations.")
    ] = None,
    correlation: Annotated[
        list[str] | None, typer.Option("--correlation", help="Only these correlation ids.")
    ] = None,
    fmt: Annotated[str, typer.Option("--format", help="jsonl, csv or parquet.")] = "jsonl",
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="File to write; default stdout.")
    ] = None,
    progress: Annotated[bool, typer.Option(help="Progress bar with rate on stderr.")] = True,
) -> None:
    """Replay event topics (from the beginning, offsets or a time range) to a file or stdout."""
    from confluent_kafka import KafkaException

    from consumers.replay import ReplayError
    from consumers.replay import replay as run_replay
    from infra.config.settings import get_settings
    from infra.replay.progress import ReplayProgress
    from infra.replay.writers import FORMATS, write_all, writer_for
    from schemas.avro_codec import SerializationError, current_schema
    from schemas.decoder import RegistryDecoder, RegistryUnavailable

    if fmt not in FORMATS:
        raise typer.BadParameter(f"--format {fmt!r}: one of {', '.join(FORMATS)}")
    settings = get_settings()
    spec = ReplaySpec(
        topics=topic_names(settings.topics(), topics or []),
        starts=dict(parse_start(s) for s in start or []),
        since=parse_time(since) if since else None,
        until=parse_time(until) if until else None,
        filter=ReplayFilter(
            event_types=frozenset(event_type or []),
            aggregate_ids=frozenset(aggregate or []),
            organizations=frozenset(org or []),
            correlation_ids=frozenset(correlation or []),
        ),
    )
    decoder = RegistryDecoder(settings.schema_registry_url, reader_for=current_schema)
    bar = ReplayProgress(enabled=progress)
    try:
        with _output(output, binary=fmt == "parquet") as out, bar:
            events = run_replay(
                settings.kafka_bootstrap, decoder, spec, on_plan=bar.planned, on_read=bar.advance
            )
            written = write_all(writer_for(fmt, out), events)
    except BrokenPipeError:  # `lis replay | head`: the reader has all it wanted
        # Python flushes stdout once more at exit; point it at /dev/null so that is quiet too.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        raise typer.Exit(0) from None
    except (ReplayError, SerializationError, RegistryUnavailable, KafkaException) as exc:
        typer.secho(f"replay failed: {exc}", fg=typer.colors.RED, err=True)
        raise typer.Exit(1) from exc
    typer.echo(bar.summary(written), err=True)
