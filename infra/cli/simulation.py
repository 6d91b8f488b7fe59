"""``lis simulate`` (a lab day through the command bus) and ``lis demo`` (the whole stack)."""

from __future__ import annotations

import logging
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
from infra.simulation.day import DayReport

console = Console()
Patients = Annotated[int, typer.Option("--patients", "-n", help="Patient visits to simulate.")]
Seed = Annotated[int, typer.Option(help="Random seed: same seed, same day.")]
Org = Annotated[str, typer.Option(help="Organization (tenant) id.")]
Wait = Annotated[
    float,
    typer.Option("--wait", help="Seconds the staff wait for a processor's work before giving up."),
]


def simulate(
    patients: Patients = 50, seed: Seed = 2026, org: Org = "lab-main", wait: Wait = 60.0
) -> None:
    """Drive N patients through the whole flow via the command bus (Postgres + outbox); the
    processors do their part, so `lis relay` and `lis worker` must be running."""
    report = _simulate(get_settings(), patients, seed, org, wait)
    console.print("\n".join(report.lines()))


def demo(patients: Patients = 40, seed: Seed = 2026, org: Org = "lab-main") -> None:
    """A lab day end to end: migrate, topics, schemas, relay and workers, simulate, wait until
    everything settled, then count on Kafka and in the read models."""
    from consumers.flow_reader import read_flows, watermarks
    from consumers.topic_audit import audit_topics
    from infra.bootstrap import schema_ids, worker_names
    from infra.db.migrate import upgrade
    from infra.settle import NotSettled, wait_settled
    from infra.simulation.summary import count_events, format_counts, read_model_lines
    from producers.topics import ensure_topics

    settings = get_settings()
    topics = settings.topics()
    upgrade(settings.database_url)
    ensure_topics(settings.kafka_bootstrap, topics)
    subjects = schema_ids(settings).register_all()
    console.print(f"schemas registered: {len(subjects)} subjects (FULL_TRANSITIVE)")
    start = watermarks(settings.kafka_bootstrap, topics.events)
    relay = _start(settings, "relay", ["relay"])
    workers = _start(settings, "workers", ["worker"])  # every processor and the read models
    try:
        began = time.monotonic()
        report = _simulate(settings, patients, seed, org)
        simulated = time.monotonic() - began
        try:
            settled = wait_settled(
                settings, worker_names(), alive=lambda: _alive(relay=relay, workers=workers)
            )
        except NotSettled as exc:
            _fail(f"{exc}; see relay.log and workers.log")
        elapsed = time.monotonic() - began
    finally:
        for process in (workers, relay):
            process.terminate()  # SIGTERM: each finishes what it has in hand
        for process in (workers, relay):
            process.wait(timeout=90)
    events = read_flows(
        settings.kafka_bootstrap, settings.schema_registry_url, start, set(report.correlation_ids)
    )
    counts = count_events(events)
    console.rule("a simulated lab day")
    console.print("\n".join(report.lines()))
    console.print(
        f"wall time         {elapsed:.1f} s (the day {simulated:.1f} s, then {settled:.1f} s "
        "until the outbox was empty and every processor had caught up)"
    )
    console.rule("events on Kafka for this day (decoded with a stock AvroDeserializer)")
    console.print("\n".join(format_counts(counts, topics.events)))
    console.rule(f"read models in Redis ({settings.redis_url.rpartition('/')[2] or '0'}: all days)")
    console.print("\n".join(read_model_lines(settings.redis_url, settings.read_model_prefix)))
    console.rule(f"the contract of every {topics.namespace}.* event topic, all days")
    audit = audit_topics(settings.kafka_bootstrap, settings.schema_registry_url, topics)
    console.print("\n".join(audit.lines()))
    if not audit.clean:
        raise typer.Exit(1)


def _simulate(
    settings: Settings, patients: int, seed: int, org: str, wait_s: float = 60.0
) -> DayReport:
    from domains.catalog.model import load_catalog
    from infra.bootstrap import bootstrap
    from infra.simulation.day import run_day
    from infra.simulation.lookout import Lookout, ProcessorsTooSlow

    # One log line per command would bury the progress bar; warnings and errors still show.
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))
    catalog = load_catalog()
    bus = bootstrap(settings, catalog=catalog)
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
    return subprocess.Popen([lis, *args], stdout=log, stderr=subprocess.STDOUT)


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
