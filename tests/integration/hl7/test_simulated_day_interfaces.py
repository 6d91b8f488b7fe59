"""A simulated lab day with its interfaces: some orders come from the hospital system as
OML^O21 and the chemistry values from the analyzer as ORU^R01, over a real MLLP connection; the
day completes (reports signed) and every message and answer passes HAPI HL7v2."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date

import pytest
from sqlalchemy import Engine, select

from domains.catalog.model import load_catalog
from domains.shared.bus import MessageBus
from domains.shared.clock import SystemClock
from infra.config.settings import Settings
from infra.db.aggregates import OrderRow, ReportRow, ResultRow
from infra.hl7.store import InterfaceStore
from infra.simulation.day import run_day
from infra.simulation.interop import Interfaces
from tests.integration.hl7.conftest import ORG, Listener
from tests.integration.lab import lab_running, own_namespace
from tests.interop.hapi import HapiValidator

pytestmark = pytest.mark.integration


@pytest.fixture
def settings(postgres: Settings, fresh_database_url: str) -> Iterator[Settings]:
    """A namespace of this test's own: the lab's processors run in it (and read only this day)."""
    with own_namespace(postgres, fresh_database_url, "hl7-day") as settings:
        yield settings


def test_a_day_with_hl7_orders_and_analyzer_results_completes(
    settings: Settings, engine: Engine, bus: MessageBus, listener: Listener, hapi: HapiValidator
) -> None:
    interfaces = Interfaces(
        listener.host, listener.port, InterfaceStore(engine), SystemClock(), his_share=0.5
    )
    with lab_running(settings) as lab:
        report = run_day(
            bus, load_catalog(), organization_id=ORG, patients=10, seed=5, today=date.today(),
            interfaces=interfaces,
        )  # fmt: skip
        lab.settle()
    assert interfaces.counts["OML^O21"] >= 2
    assert interfaces.counts["ORU^R01"] >= 5
    assert all(code == "AA" for _, code in interfaces.exchanged)
    with engine.connect() as conn:
        orders = conn.execute(select(OrderRow.status)).scalars().all()
        reports = conn.execute(select(ReportRow.status)).scalars().all()
        analyzers = conn.execute(select(ResultRow.data["analyzer_id"].astext)).scalars().all()
    assert report.visits == 10
    assert set(orders) == {"completed"}
    assert len(reports) == 10
    assert sum(a is not None for a in analyzers) == interfaces.counts["ORU^R01"]
    hapi.assert_valid({f"m{n}.hl7": m for n, (m, _) in enumerate(interfaces.exchanged)})
