"""A simulated lab day on real Postgres: what `lis simulate` reports is what the outbox holds."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from collections import Counter, defaultdict
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from domains.catalog.model import load_catalog
from infra.bootstrap import bootstrap
from infra.config.settings import Settings
from infra.simulation.day import run_day

pytestmark = pytest.mark.integration

_OUTBOX = "SELECT event_type, headers->>'correlation_id' AS correlation_id FROM outbox"


def outbox(database_url: str) -> list[tuple[str, str]]:
    engine = create_engine(database_url)
    try:
        with engine.connect() as conn:
            return [(r.event_type, r.correlation_id) for r in conn.execute(text(_OUTBOX))]
    finally:
        engine.dispose()


def test_three_visits_leave_their_commands_and_one_flow_each_in_the_outbox(
    postgres: Settings, fresh_database_url: str
) -> None:
    settings = postgres.model_copy(update={"database_url": fresh_database_url})
    catalog = load_catalog()
    visits: list[int] = []

    report = run_day(
        bootstrap(settings, catalog=catalog),
        catalog,
        organization_id="org-sim",
        patients=3,
        seed=2026,
        today=date(2026, 11, 21),
        on_visit=visits.append,
    )

    assert (report.organization_id, report.visits, visits) == ("org-sim", 3, [1, 2, 3])
    assert len(set(report.correlation_ids)) == 3  # one flow per visit
    for command in ("RegisterPatient", "PlaceOrder", "ConfirmOrder", "CompleteOrder"):
        assert report.commands[command] == 3, command
    assert report.commands["SignReport"] >= 3
    # every entered value is verified once, and every amended one again (issue 12: a day
    # always amends a released result)
    assert report.commands["AmendResult"] >= 1
    assert (
        report.commands["EnterResult"] + report.commands["AmendResult"]
        == report.commands["VerifyResult"]
    )
    assert 0 <= report.stat_orders <= 3

    rows = outbox(fresh_database_url)
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

    engine = create_engine(fresh_database_url)
    with engine.connect() as conn:
        logged = conn.execute(
            text("SELECT count(*) FROM command_log WHERE organization_id = 'org-sim'")
        ).scalar_one()
    engine.dispose()
    assert logged == sum(report.commands.values())


def test_lis_simulate_runs_a_day_against_the_configured_database(
    postgres: Settings, fresh_database_url: str
) -> None:
    lis = shutil.which("lis") or str(Path(sys.executable).with_name("lis"))
    env = {**os.environ, "LIS_DATABASE_URL": fresh_database_url, "NO_COLOR": "1"}

    done = subprocess.run(
        [lis, "simulate", "-n", "2", "--seed", "7", "--org", "org-cli"],
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
        env=env,
    )

    assert done.returncode == 0, done.stdout + done.stderr
    out = done.stdout
    assert re.search(r"^organization\s+org-cli$", out, re.MULTILINE), out
    assert re.search(r"^patient visits\s+2 \(\d STAT\)$", out, re.MULTILINE), out
    handled = re.search(r"^commands handled\s+(\d+)$", out, re.MULTILINE)
    assert handled, out
    assert re.search(r"^samples rejected\s+\d+ \(recollected\)$", out, re.MULTILINE), out
    assert re.search(r"^critical values\s+\d+ ", out, re.MULTILINE), out
    # It wrote to the database it was pointed at, and the summary counts what it did there.
    types = Counter(event_type for event_type, _ in outbox(fresh_database_url))
    assert types["PATIENT_CREATED"] == 2
    assert types["ORDER_COMPLETED"] == 2
    engine = create_engine(fresh_database_url)
    with engine.connect() as conn:
        logged = conn.execute(text("SELECT count(*) FROM command_log")).scalar_one()
    engine.dispose()
    assert logged == int(handled[1])
