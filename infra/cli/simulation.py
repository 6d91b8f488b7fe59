"""``lis simulate`` (a lab day through the command bus) and ``lis demo`` (the whole stack)."""

from __future__ import annotations

import logging
import os
import shutil
import subprocess
import sys
import time
from datetime import date
from pathlib import Path
from typing import Annotated, NoReturn

import structlog
import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn

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
Wait = Annotated[
    float,
    typer.Option("--wait", help="Seconds the staff wait for a processor's work before giving up."),
]


def simulate(
    patients: Patients = 50,
    seed: Seed = 2026,
    org: Org = "lab-main",
    via: Via = "api",
    wait: Wait = 60.0,
) -> None:
    """Drive N patients through the whole flow via the HTTP API (or the bus directly); the
    processors do their part, so `lis relay` and `lis worker` must be running."""
    settings = get_settings()
    if via == "bus":
        report = _simulate(settings, patients, seed, org, wait_s=wait)
    else:
        with api_for_simulation(settings, org) as send:
            report = _simulate(settings, patients, seed, org, send=send, wait_s=wait)
    console.print("\n".join(report.lines()))


def demo(
    patients: Patients = 40, seed: Seed = 2026, org: Org = "lab-main", mllp_port: MllpPort = 2575
) -> None:
    """A lab day end to end: migrate, topics, schemas, relay and workers, the day through the
    API and HL7, wait until everything settled, then count on Kafka and in the read models."""
    from consumers.flow_reader import read_flows, watermarks
    from consumers.topic_audit import audit_topics
    from infra.bootstrap import schema_ids, worker_names
    from infra.db.migrate import upgrade
    from infra.settle import NotSettled, wait_settled
    from infra.simulation import critical_demo
    from infra.simulation.interop_demo import interfaces_running, print_exchanges
    from infra.simulation.summary import count_events, format_counts, read_model_lines
    from producers.topics import ensure_topics

    settings = critical_demo.demo_settings(get_settings())
    topics = settings.topics()
    upgrade(settings.database_url)
    ensure_topics(settings.kafka_bootstrap, topics)
    subjects = schema_ids(settings).register_all()
    console.print(f"schemas registered: {len(subjects)} subjects (FULL_TRANSITIVE)")
    start = watermarks(settings.kafka_bootstrap, topics.events)
    critical_demo.load_directory(settings, org)
    relay = _start(settings, "relay", ["relay"])
    workers = _start(settings, "workers", ["worker"])  # every processor and the read models
    if not critical_demo.wait_until_consuming(settings):
        console.print("the critical worker is not consuming yet; see logs/workers.log")
    try:
        with (
            api_for_simulation(settings, org) as send,
            interfaces_running(settings, org, mllp_port, console) as interfaces,
        ):
            began = time.monotonic()
            report = _simulate(settings, patients, seed, org, interfaces, send=send, notified=True)
            simulated = time.monotonic() - began
            try:
                settled = wait_settled(
                    settings, worker_names(), alive=lambda: _alive(relay=relay, workers=workers)
                )
            except NotSettled as exc:
                _fail(f"{exc}; see relay.log and workers.log")
            elapsed = time.monotonic() - began
            print_exchanges(console, interfaces, settings, org)
    finally:
        for process in (workers, relay):
            process.terminate()  # SIGTERM: each finishes what it has in hand
        for process in (workers, relay):
            process.wait(timeout=90)
    flows = {*report.correlation_ids, *interfaces.correlation_ids}  # visits and HL7 messages
    events = read_flows(settings.kafka_bootstrap, settings.schema_registry_url, start, flows)
    counts = count_events(events)
    console.rule("a simulated lab day")
    console.print("\n".join(report.lines()))
    console.print(
        f"wall time         {elapsed:.1f} s (the day {simulated:.1f} s, then {settled:.1f} s "
        "until the outbox was empty and every processor had caught up)"
    )
    console.print("\n".join(summary_lines(events, send, settings.api_url, org)))
    console.rule("events on Kafka for this day (decoded with a stock AvroDeserializer)")
    console.print("\n".join(format_counts(counts, topics.events)))
    console.rule("critical value calls (the critical worker: notify, escalate on the timers)")
    console.print("\n".join(critical_demo.critical_lines(events, settings)))
    console.rule(f"read models in Redis ({settings.redis_url.rpartition('/')[2] or '0'}: all days)")
    console.print("\n".join(read_model_lines(settings.redis_url, settings.read_model_prefix)))
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
    wait_s: float = 60.0,
) -> DayReport:
    from domains.catalog.model import load_catalog
    from infra.bootstrap import bootstrap
    from infra.db.engine import make_engine
    from infra.simulation.clinicians import NotifiedCalls
    from infra.simulation.day import run_day
    from infra.simulation.lookout import Lookout, ProcessorsTooSlow

    # One log line per command would bury the progress bar; warnings and errors still show.
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))
    catalog = load_catalog()
    bus = bootstrap(settings, catalog=catalog)  # the lookout reads through its unit of work
    sender = send if send is not None else bus.handle
    columns = (
        *Progress.get_default_columns()[:1],
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
    )
    with Progress(*columns, console=console) as progress:
        task = progress.add_task("patients", total=patients)
        try:
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
                lookout=Lookout(bus.uow_factory, timeout_s=wait_s),
            )
        except ProcessorsTooSlow as exc:
            _fail(str(exc))


def _start(settings: Settings, name: str, args: list[str]) -> subprocess.Popen[bytes]:
    lis = shutil.which("lis") or str(Path(sys.executable).with_name("lis"))
    log_dir = settings.stack_home / "logs"
    log_dir.mkdir(parents=True, exist_ok=True)
    log = (log_dir / f"{name}.log").open("ab")
    console.print(f"{name} started (log: {log_dir / f'{name}.log'})")
    env = dict(os.environ)  # the demo's own settings reach its processes
    if settings.lab_policy_file is not None:
        env["LIS_LAB_POLICY_FILE"] = str(settings.lab_policy_file)
    return subprocess.Popen([lis, *args], stdout=log, stderr=subprocess.STDOUT, env=env)


def _alive(**processes: subprocess.Popen[bytes]) -> None:
    for name, process in processes.items():
        if process.poll() is not None:
            _fail(f"the {name} exited with {process.returncode}; see {name}.log")


def register(app: typer.Typer) -> None:
    app.command("simulate")(simulate)
    app.command("demo")(demo)


def _fail(reason: str) -> NoReturn:
    typer.secho(f"demo failed: {reason}", fg=typer.colors.RED, err=True)
    raise typer.Exit(1)
