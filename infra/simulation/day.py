"""A simulated lab day: N patient visits, each a flow of commands through the message bus."""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from domains.catalog.model import Catalog
from domains.shared.bus import MessageBus
from domains.shared.ids import new_id
from infra.simulation.clinicians import CallReport, CriticalCalls, ImmediateCalls
from infra.simulation.context import Send
from infra.simulation.journey import Visit
from infra.simulation.people import synthetic_patient
from infra.simulation.plan import plan_visit


@dataclass
class DayReport:
    organization_id: str
    visits: int = 0
    commands: Counter[str] = field(default_factory=Counter)
    criticals: int = 0
    rejections: int = 0
    stat_orders: int = 0
    correlation_ids: list[str] = field(default_factory=list)
    calls: CallReport = field(default_factory=CallReport)

    def lines(self) -> list[str]:
        return [
            f"organization      {self.organization_id}",
            f"patient visits    {self.visits} ({self.stat_orders} STAT)",
            f"commands handled  {sum(self.commands.values())}",
            f"samples rejected  {self.rejections} (recollected)",
            f"critical values   {self.criticals} (called, read back, acknowledged)",
        ]


def run_day(
    bus: MessageBus | None,
    catalog: Catalog,
    *,
    organization_id: str,
    patients: int,
    seed: int,
    today: date,
    critical_rate: float = 0.08,
    reject_rate: float = 0.05,
    on_visit: Callable[[int], None] = lambda _n: None,
    interfaces: Any = None,  # infra.simulation.interop.Interfaces: orders/results over HL7
    send: Send | None = None,
    calls: CriticalCalls | None = None,
) -> DayReport:
    """Drive ``patients`` visits; same seed, same day (the ids differ: they are random).
    Commands go to ``send`` when given (the HTTP API: ``infra.http.client``), else the bus."""
    if send is None:
        assert bus is not None, "run_day needs a bus or a send"
        send = bus.handle
    rng = random.Random(seed)
    run = new_id()[:8]  # placer numbers are unique per run: a rerun is a new day's orders
    report = DayReport(organization_id=organization_id)
    calls = calls or ImmediateCalls(send)
    for n in range(1, patients + 1):
        plan = plan_visit(
            rng,
            catalog,
            synthetic_patient(rng, today),
            n,
            run,
            today,
            critical_rate=critical_rate,
            reject_rate=reject_rate,
        )
        outcome = Visit(
            send, catalog, organization_id, plan, rng, today, interfaces=interfaces, calls=calls
        ).run()
        report.visits += 1
        report.commands.update(outcome.commands)
        report.criticals += outcome.criticals
        report.rejections += outcome.rejections
        report.stat_orders += plan.priority == "stat"
        report.correlation_ids.append(outcome.correlation_id)
        on_visit(n)
    report.calls = calls.finish()  # the calls still open: escalations take their SLAs
    report.commands.update(report.calls.commands)
    return report
