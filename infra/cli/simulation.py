"""``lis simulate`` (a lab day through the command bus) and ``lis demo`` (the whole stack)."""

from __future__ import annotations

import logging
import shutil
import subprocess
import sys
import time
from datetime import date
from pathlib import Path
from typing import Annotated, NoReturn, cast

import structlog
import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn
from sqlalchemy import create_engine, text

from domains.shared.bus import MessageBus
from infra.config.settings import Settings, get_settings
from infra.simulation.api_runner import api_for_simulation
from infra.simulation.context import Send
from infra.simulation.day import DayReport
from infra.simulation.through_api import summary_lines

console = Console()
Patients = Annotated[int, typer.Option("--patients", "-n", help="Patient visits to simulate.")]
Seed = Annotated[int, typer.Option(help="Random seed: same seed, same day.")]
Org = Annotated[str, typer.Option(help="Organization (tenant) id.")]
MllpPort = Annotated[int, typer.Option(help="Port of the demo's MLLP listener (HL7 v2).")]


Via = Annotated[str, typer.Option(help="api: through the HTTP API (per-role tokens); bus: direct.")]


def simulate(
    patients: Patients = 50, seed: Seed = 2026, org: Org = "lab-main", via: Via = "api"
) -> None:
    """Drive N patients through the whole flow via the HTTP API (or the bus directly)."""
    settings = get_settings()
    if via == "bus":
        report = _simulate(settings, patients, seed, org)
    else:
        with api_for_simulation(settings, org) as send:
            report = _simulate(settings, patients, seed, org, send=send)
    console.print("\n".join(report.lines()))


def demo(
    patients: Patients = 40, seed: Seed = 2026, org: Org = "lab-main", mllp_port: MllpPort = 2575
) -> None:
    """A lab day end to end: migrate, topics, schemas, relay, simulate, then count on Kafka."""
    from consumers.flow_reader import read_flows, watermarks
    from consumers.topic_audit import audit_topics
    from infra.bootstrap import schema_ids
    from infra.db.migrate import upgrade
    from infra.simulation import critical_demo
    from infra.simulation.interop_demo import interfaces_running, print_exchanges
    from infra.simulation.summary import count_events, format_counts
    from producers.topics import ensure_topics

    settings = critical_demo.demo_settings(get_settings())
    topics = settings.topics()
    upgrade(settings.database_url)
    ensure_topics(settings.kafka_bootstrap, topics)
    subjects = schema_ids(settings).register_all()
    console.print(f"schemas registered: {len(subjects)} subjects (FULL_TRANSITIVE)")
    start = watermarks(settings.kafka_bootstrap, topics.events)
    relay = _start_relay(settings)
    critical_demo.load_directory(settings, org)
    criticals = critical_demo.start_critical_worker(settings)
    if not critical_demo.wait_until_consuming(settings):
        console.print("the critical worker is not consuming yet; see logs/criticals.log")
    try:
        with (
            api_for_simulation(settings, org) as send,
            interfaces_running(settings, org, mllp_port, console) as interfaces,
        ):
            began = time.monotonic()
            report = _simulate(settings, patients, seed, org, interfaces, send=send, notified=True)
            _wait_for_empty_outbox(settings, relay)
            elapsed = time.monotonic() - began
            print_exchanges(console, interfaces, settings, org)
    finally:
        for process in (criticals, relay):
            process.terminate()
            process.wait(timeout=60)
    flows = {*report.correlation_ids, *interfaces.correlation_ids}  # visits and HL7 messages
    events = read_flows(settings.kafka_bootstrap, settings.schema_registry_url, start, flows)
    counts = count_events(events)
    console.rule("a simulated lab day")
    console.print("\n".join(report.lines()))
    console.print(f"wall time         {elapsed:.1f} s (commands + relay to Kafka)")
    console.print("\n".join(summary_lines(events, send, settings.api_url, org)))
    console.rule("events on Kafka for this day (decoded with a stock AvroDeserializer)")
    console.print("\n".join(format_counts(counts, topics.events)))
    console.rule("critical value calls (the critical worker: notify, escalate on the timers)")
    console.print("\n".join(critical_demo.critical_lines(events, settings)))
    console.rule(f"the contract of every {topics.namespace}.* event topic, all days")
    audit = audit_topics(settings.kafka_bootstrap, settings.schema_registry_url, topics)
    console.print("\n".join(audit.lines()))
    if not audit.clean:
        raise typer.Exit(1)


def _simulate(
    settings: Settings,
    patients: int,
    seed: int,
    org: str,
    interfaces: object = None,
    send: Send | None = None,
    *,
    notified: bool = False,
) -> DayReport:
    from domains.catalog.model import load_catalog
    from infra.bootstrap import bootstrap
    from infra.db.engine import make_engine
    from infra.simulation.clinicians import NotifiedCalls
    from infra.simulation.day import run_day

    # One log line per command would bury the progress bar; warnings and errors still show.
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))
    catalog = load_catalog()
    bus = bootstrap(settings, catalog=catalog) if send is None else None
    sender = send if send is not None else cast(MessageBus, bus).handle
    columns = (
        *Progress.get_default_columns()[:1],
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
    )
    with Progress(*columns, console=console) as progress:
        task = progress.add_task("patients", total=patients)
        return run_day(
            bus,
            catalog,
            organization_id=org,
            patients=patients,
            seed=seed,
            today=date.today(),
            on_visit=lambda _n: progress.advance(task),
            interfaces=interfaces,
            send=send,
            # people answer once the critical worker has notified them (else: a phone call)
            calls=NotifiedCalls(sender, make_engine(settings.database_url), seed=seed)
            if notified
            else None,
        )


def _start_relay(settings: Settings) -> subprocess.Popen[bytes]:
    lis = shutil.which("lis") or str(Path(sys.executable).with_name("lis"))
    log_dir = settings.stack_home / "logs"
    log_dir.mkdir(parents=True, exist_ok=True)
    log = (log_dir / "relay.log").open("ab")
    console.print(f"relay started (log: {log_dir / 'relay.log'})")
    return subprocess.Popen([lis, "relay"], stdout=log, stderr=subprocess.STDOUT)


def _wait_for_empty_outbox(
    settings: Settings, relay: subprocess.Popen[bytes], timeout_s: float = 300
) -> None:
    engine = create_engine(settings.database_url)
    deadline = time.monotonic() + timeout_s
    try:
        while time.monotonic() < deadline:
            if relay.poll() is not None:
                _fail(f"the relay exited with {relay.returncode}; see relay.log")
            with engine.connect() as conn:
                if conn.execute(text("SELECT count(*) FROM outbox")).scalar_one() == 0:
                    return
            time.sleep(0.5)
        _fail("the outbox did not drain in time; see relay.log")
    finally:
        engine.dispose()


def register(app: typer.Typer) -> None:
    app.command("simulate")(simulate)
    app.command("demo")(demo)


def _fail(reason: str) -> NoReturn:
    typer.secho(f"demo failed: {reason}", fg=typer.colors.RED, err=True)
    raise typer.Exit(1)
