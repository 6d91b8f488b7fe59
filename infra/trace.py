"""`lis trace <correlation-id>`: one business flow as the causation tree DESIGN.md promises.

Roots are the commands staff issued (their ids are the causation ids of the first events);
an event a processor emitted in reaction to event E hangs under E.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any

import typer

from consumers.flow_reader import FlowEvent


@dataclass(frozen=True)
class CommandInfo:
    command_type: str
    user_id: str | None


def causation_tree(events: list[FlowEvent], commands: Mapping[str, CommandInfo]) -> list[str]:
    """Printable lines: each root cause (a command, or an unknown id) with its events below."""
    children: dict[str, list[FlowEvent]] = defaultdict(list)
    by_id = {e.metadata["event_id"]: e for e in events}
    for event in sorted(events, key=_when):
        children[event.metadata["causation_id"]].append(event)
    roots = [cause for cause in children if cause not in by_id]
    roots.sort(key=lambda cause: _when(children[cause][0]))
    lines: list[str] = []
    for cause in roots:
        info = commands.get(cause)
        label = f"{info.command_type} by {info.user_id or '-'}" if info else "unknown cause"
        lines.append(f"{label}  [{cause}]")
        _walk(children, cause, "  ", lines)
    return lines


def _walk(children: dict[str, list[FlowEvent]], cause: str, indent: str, out: list[str]) -> None:
    for event in children.get(cause, []):
        m = event.metadata
        out.append(
            f"{indent}└─ {m['event_type']:<28} {m['aggregate_type']} {m['aggregate_id'][:8]} "
            f"v{m['aggregate_version']}  {_when(event):%H:%M:%S.%f}  "
            f"{event.topic}[{event.partition}]@{event.offset}"
        )
        _walk(children, m["event_id"], indent + "   ", out)


def _when(event: FlowEvent) -> datetime:
    occurred: datetime = event.metadata["occurred_at"]
    return occurred


def _commands(database_url: str, correlation_id: str) -> dict[str, CommandInfo]:
    from sqlalchemy import create_engine, text

    engine = create_engine(database_url)
    try:
        with engine.connect() as conn:
            rows: Any = conn.execute(
                text(
                    "SELECT command_id, command_type, user_id FROM command_log"
                    " WHERE correlation_id = :c"
                ),
                {"c": correlation_id},
            )
            return {r.command_id: CommandInfo(r.command_type, r.user_id) for r in rows}
    finally:
        engine.dispose()


def trace(
    correlation_id: Annotated[str, typer.Argument(help="The flow's correlation id.")],
) -> None:
    """Print every event of one flow from Kafka as a causation tree (commands from Postgres)."""
    from consumers.flow_reader import read_flows, watermarks
    from infra.settings import get_settings

    settings = get_settings()
    start = watermarks(settings.kafka_bootstrap, end=False)
    events = read_flows(
        settings.kafka_bootstrap, settings.schema_registry_url, start, {correlation_id}
    )
    if not events:
        typer.echo(f"no events with correlation id {correlation_id}", err=True)
        raise typer.Exit(1)
    commands = _commands(settings.database_url, correlation_id)
    typer.echo("\n".join(causation_tree(events, commands)))
