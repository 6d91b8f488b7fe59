"""`lis trace <correlation-id>`: one business flow as the causation tree DESIGN.md promises.

Roots are the commands staff issued (their ids are the causation ids of the first events);
an event a processor emitted in reaction to event E hangs under E.

Each event shows its delay after the event that caused it, and every critical value in the
flow its steps (entered, detected, notified, acknowledged or escalated) with their delays and
the total (``consumers.flow_timing``); ``--json`` prints the same for tools.

Scoped to one organization (``--org``, required): correlation ids come from a request header
any client can set, and command ids are unique only per tenant, so without the scope one
lab's trace could show another lab's commands and events.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Annotated, Any

import typer

from consumers.flow_reader import FlowEvent
from consumers.flow_timing import CriticalFlow, critical_flows, delays_after_cause, seconds

if TYPE_CHECKING:
    from sqlalchemy import Connection


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
    delays = delays_after_cause(events)
    for cause in roots:
        info = commands.get(cause)
        label = f"{info.command_type} by {info.user_id or '-'}" if info else "unknown cause"
        lines.append(f"{label}  [{cause}]")
        _walk(children, delays, cause, "  ", lines)
    return lines


def _walk(
    children: dict[str, list[FlowEvent]],
    delays: dict[str, float],
    cause: str,
    indent: str,
    out: list[str],
) -> None:
    for event in children.get(cause, []):
        m = event.metadata
        after = delays.get(m["event_id"])
        out.append(
            f"{indent}└─ {m['event_type']:<28} {m['aggregate_type']} {m['aggregate_id'][:8]} "
            f"v{m['aggregate_version']}  {_when(event):%H:%M:%S.%f}  "
            f"{event.topic}[{event.partition}]@{event.offset}"
            + (f"  {seconds(after)} after cause" if after is not None else "")
        )
        _walk(children, delays, m["event_id"], indent + "   ", out)


_EVENT_FIELDS = (
    "event_id", "event_type", "aggregate_type", "aggregate_id", "aggregate_version",
    "causation_id",
)  # fmt: skip


def critical_lines(flows: list[CriticalFlow]) -> list[str]:
    """Each critical value's steps with the delay after the step before, and the total."""
    lines: list[str] = []
    for flow in flows:
        lines.append(
            f"critical value {flow.critical_id[:8]} (result {flow.result_id[:8]}): "
            f"{flow.outcome}, total {seconds(flow.total_s)}"
        )
        lines.extend(
            f"  {step.step:<24} {step.at:%H:%M:%S.%f}  {seconds(step.after_previous_s)}"
            for step in flow.steps
        )
    return lines


def trace_json(
    correlation_id: str,
    organization_id: str,
    events: list[FlowEvent],
    commands: Mapping[str, CommandInfo],
) -> dict[str, Any]:
    delays = delays_after_cause(events)
    return {
        "correlation_id": correlation_id,
        "organization_id": organization_id,
        "commands": {
            cid: {"command_type": c.command_type, "user_id": c.user_id}
            for cid, c in commands.items()
        },
        "events": [
            {
                **{k: e.metadata[k] for k in _EVENT_FIELDS},
                "occurred_at": _when(e).isoformat(),
                "after_cause_s": delays.get(e.metadata["event_id"]),
                "topic": e.topic,
                "partition": e.partition,
                "offset": e.offset,
            }
            for e in sorted(events, key=_when)
        ],
        "critical_values": [flow.as_json() for flow in critical_flows(events)],
    }


def _when(event: FlowEvent) -> datetime:
    occurred: datetime = event.metadata["occurred_at"]
    return occurred


def of_organization(events: list[FlowEvent], organization_id: str) -> list[FlowEvent]:
    """Only the tenant's events: another tenant may have sent the same correlation id."""
    return [e for e in events if e.metadata.get("organization_id") == organization_id]


def command_infos(
    conn: Connection, correlation_id: str, organization_id: str
) -> dict[str, CommandInfo]:
    """The tenant's commands of one flow, by command id (unique only within a tenant)."""
    from sqlalchemy import text

    rows: Any = conn.execute(
        text(
            "SELECT command_id, command_type, user_id FROM command_log"
            " WHERE organization_id = :o AND correlation_id = :c"
        ),
        {"o": organization_id, "c": correlation_id},
    )
    return {r.command_id: CommandInfo(r.command_type, r.user_id) for r in rows}


def _commands(
    database_url: str, correlation_id: str, organization_id: str
) -> dict[str, CommandInfo]:
    from sqlalchemy import create_engine

    engine = create_engine(database_url)
    try:
        with engine.connect() as conn:
            return command_infos(conn, correlation_id, organization_id)
    finally:
        engine.dispose()


def trace(
    correlation_id: Annotated[str, typer.Argument(help="The flow's correlation id.")],
    org: Annotated[str, typer.Option("--org", help="Organization (tenant) id the flow is of.")],
    timeout: Annotated[
        float, typer.Option(help="Seconds to read the topics to their end before giving up.")
    ] = 120.0,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of a tree.")] = False,
) -> None:
    """Print every event of one flow from Kafka as a causation tree (commands from Postgres)."""
    from consumers.flow_reader import FlowReadTimeout, read_flows, watermarks
    from infra.config.settings import get_settings

    settings = get_settings()
    start = watermarks(settings.kafka_bootstrap, settings.topics().events, end=False)
    try:
        events = read_flows(
            settings.kafka_bootstrap,
            settings.schema_registry_url,
            start,
            {correlation_id},
            timeout_s=timeout,
        )
    except FlowReadTimeout as exc:
        typer.echo(f"trace incomplete, not printed: {exc}", err=True)
        raise typer.Exit(2) from exc
    events = of_organization(events, org)
    if not events:
        typer.echo(f"no events of {org} with correlation id {correlation_id}", err=True)
        raise typer.Exit(1)
    commands = _commands(settings.database_url, correlation_id, org)
    if as_json:
        typer.echo(json.dumps(trace_json(correlation_id, org, events, commands), indent=2))
        return
    lines = causation_tree(events, commands)
    if flows := critical_flows(events):
        lines += ["", *critical_lines(flows)]
    typer.echo("\n".join(lines))
