"""A simulated lab day on the real stack, the processors running: what `lis simulate` reports is
what reached Kafka, and the staff issued only what people do (the processors the rest)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from collections import Counter, defaultdict
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from consumers.flow_reader import read_events, watermarks
from domains.catalog.model import load_catalog
from infra.bootstrap import bootstrap
from infra.config.settings import Settings
from infra.simulation.day import run_day
from tests.integration.lab import lab_running, own_namespace

pytestmark = pytest.mark.integration
PROCESSORS_COMMANDS = ("RouteSample", "CompleteOrder", "GenerateReport", "DeliverReport")


@pytest.fixture
def own(stack: Settings, fresh_database_url: str) -> Iterator[Settings]:
    with own_namespace(stack, fresh_database_url, "sim") as settings:
        yield settings


def published(settings: Settings) -> list[tuple[str, str]]:
    """(event type, correlation id) of every event on the namespace's topics."""
    start = watermarks(settings.kafka_bootstrap, settings.topics().events, end=False)
    events = read_events(settings.kafka_bootstrap, settings.schema_registry_url, start)
    return [(e.metadata["event_type"], e.metadata["correlation_id"]) for e in events]


def command_log(database_url: str, organization_id: str) -> Counter[tuple[str, bool]]:
    """(command type, issued by a processor) -> count; also ("report created", caused): the
    GenerateReport commands that made a report (a second one for the same order is answered
    with the existing report, ``created`` false)."""
    engine = create_engine(database_url)
    try:
        with engine.connect() as conn:
            rows = conn.execute(
                text(
                    "SELECT command_type, causation_id IS NOT NULL AS caused,"
                    " coalesce((outcome->>'created')::boolean, false) AS created"
                    " FROM command_log WHERE organization_id = :org"
                ),
                {"org": organization_id},
            ).all()
    finally:
        engine.dispose()
    counts = Counter((r.command_type, r.caused) for r in rows)
    counts.update(
        ("report created", r.caused)
        for r in rows
        if r.command_type == "GenerateReport" and r.created
    )
    return counts


def test_three_visits_publish_one_flow_each_with_the_processors_doing_their_part(
    own: Settings,
) -> None:
    settings = own
    catalog = load_catalog()
    visits: list[int] = []

    with lab_running(settings) as lab:
        report = run_day(
            bootstrap(settings, catalog=catalog),
            catalog,
            organization_id="org-sim",
            patients=3,
            seed=2026,
            today=date(2026, 11, 21),
            on_visit=visits.append,
        )
        lab.settle()

    assert (report.organization_id, report.visits, visits) == ("org-sim", 3, [1, 2, 3])
    assert len(set(report.correlation_ids)) == 3  # one flow per visit
    for command in ("RegisterPatient", "PlaceOrder", "ConfirmOrder"):
        assert report.commands[command] == 3, command
    for command in PROCESSORS_COMMANDS:
        assert command not in report.commands, command  # not the staff's to issue
    assert report.commands["SignReport"] >= 3
    # every entered value is verified once, and every amended one again (issue 12: a day
    # always amends a released result)
    assert report.commands["AmendResult"] >= 1
    assert (
        report.commands["EnterResult"] + report.commands["AmendResult"]
        == report.commands["VerifyResult"]
    )
    assert 0 <= report.stat_orders <= 3
    logged = command_log(settings.database_url, "org-sim")
    assert logged[("CompleteOrder", True)] == logged[("report created", True)] == 3
    # ORDER_COMPLETED and a read-back recorded just after may both ask for the report: the
    # second ask is answered with the first one's report (counted above only once)
    assert logged[("GenerateReport", True)] >= 3
    assert logged[("report created", False)] == 0
    assert logged[("DeliverReport", True)] >= 3
    assert logged[("RouteSample", True)] >= 3

    rows = published(settings)
    types = Counter(event_type for event_type, _ in rows)
    for event_type in ("PATIENT_CREATED", "ORDER_CREATED", "ORDER_CONFIRMED", "ORDER_COMPLETED"):
        assert types[event_type] == 3, event_type
    assert types["REPORT_GENERATED"] >= 3
    assert types["REPORT_SIGNED"] >= 3
    assert types["REPORT_DELIVERED"] >= 3
    assert types["SAMPLE_COLLECTED"] >= 3
    assert types["SAMPLE_ROUTED"] >= 3
    assert types["RESULT_ENTERED"] == report.commands["EnterResult"]
    assert types["RESULT_VERIFIED"] == report.commands["VerifyResult"]
    # What the report counts is what happened: one detection per critical, one rejection each.
    assert types["CRITICAL_VALUE_DETECTED"] == report.criticals
    assert types["SAMPLE_REJECTED"] == report.rejections

    flows: dict[str, Counter[str]] = defaultdict(Counter)
    for event_type, correlation_id in rows:
        flows[correlation_id][event_type] += 1
    assert set(flows) == set(report.correlation_ids)  # no event outside the visits' flows
    for correlation_id, flow in flows.items():
        assert flow["PATIENT_CREATED"] == 1, correlation_id
        assert flow["ORDER_COMPLETED"] == 1, correlation_id
        assert flow["REPORT_SIGNED"] >= 1, correlation_id

    staff = sum(n for (_type, caused), n in logged.items() if not caused)
    assert staff == sum(report.commands.values())


def test_lis_simulate_runs_a_day_against_the_configured_database(own: Settings) -> None:
    lis = shutil.which("lis") or str(Path(sys.executable).with_name("lis"))
    env = {
        **os.environ,
        "LIS_DATABASE_URL": own.database_url,
        "LIS_TOPIC_NAMESPACE": own.topic_namespace,
        "NO_COLOR": "1",
    }

    with lab_running(own) as lab:
        done = subprocess.run(
            [lis, "simulate", "-n", "2", "--seed", "7", "--org", "org-cli"],
            capture_output=True,
            text=True,
            timeout=240,
            check=False,
            env=env,
        )
        lab.settle()

    assert done.returncode == 0, done.stdout + done.stderr
    out = done.stdout
    assert re.search(r"^organization\s+org-cli$", out, re.MULTILINE), out
    assert re.search(r"^patient visits\s+2 \(\d STAT\)$", out, re.MULTILINE), out
    handled = re.search(r"^commands handled\s+(\d+)$", out, re.MULTILINE)
    assert handled, out
    assert re.search(r"^samples rejected\s+\d+ \(recollected\)$", out, re.MULTILINE), out
    assert re.search(r"^critical values\s+\d+ ", out, re.MULTILINE), out
    # It wrote to the database it was pointed at, and the summary counts what it did there.
    types = Counter(event_type for event_type, _ in published(own))
    assert types["PATIENT_CREATED"] == 2
    assert types["ORDER_COMPLETED"] == 2
    logged = command_log(own.database_url, "org-cli")
    assert sum(n for (_type, caused), n in logged.items() if not caused) == int(handled[1])


def test_lis_simulate_without_processors_stops_with_a_clear_error(own: Settings) -> None:
    lis = shutil.which("lis") or str(Path(sys.executable).with_name("lis"))
    env = {
        **os.environ,
        "LIS_DATABASE_URL": own.database_url,
        "LIS_TOPIC_NAMESPACE": own.topic_namespace,
        "NO_COLOR": "1",
    }
    done = subprocess.run(
        [lis, "simulate", "-n", "1", "--org", "org-none", "--wait", "2"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env=env,
    )
    assert done.returncode == 1
    assert "to be routed" in done.stderr, done.stderr
    assert "lis worker" in done.stderr, done.stderr
