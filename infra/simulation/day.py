"""A simulated lab day: N patient visits, each a flow of commands through the message bus."""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from domains.catalog.model import Catalog
from domains.shared.bus import MessageBus
from domains.shared.ids import new_id
from infra.simulation.clinicians import CallReport, CriticalCalls, ImmediateCalls
from infra.simulation.context import Send, VisitOutcome
from infra.simulation.journey import Visit
from infra.simulation.lookout import Lookout
from infra.simulation.people import synthetic_patient
from infra.simulation.plan import VisitPlan, plan_visit
from infra.simulation.races import retrying_races


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
    bus: MessageBus,
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
    lookout: Lookout | None = None,
    concurrency: int = 4,
) -> DayReport:
    """Drive ``patients`` visits; same seed, same day (the ids differ: they are random). The
    processors must be running (``lis relay`` and ``lis worker``): the staff wait for them.
    Commands go to ``send`` when given (the HTTP API: ``infra.http.client``), else the bus.

    Visits overlap (``concurrency`` at a time), as patients do in a lab: while one waits for
    its sample to reach the bench, the desk registers the next. Every visit is planned up front
    from the seed and draws its values from a random source of its own, so the day is the same
    whatever order the visits finish in. ``on_visit`` gets the number of visits done so far."""
    # people try again on "changed concurrently" (a processor saved the same result first)
    commands = retrying_races(send if send is not None else bus.handle)
    rng = random.Random(seed)
    lookout = lookout or Lookout(bus.uow_factory)
    run = new_id()[:8]  # placer numbers are unique per run: a rerun is a new day's orders
    calls = calls or ImmediateCalls(commands)
    plans = [
        plan_visit(
            rng,
            catalog,
            synthetic_patient(rng, today),
            n,
            run,
            today,
            critical_rate=critical_rate,
            reject_rate=reject_rate,
        )
        for n in range(1, patients + 1)
    ]

    def visit(n: int, plan: VisitPlan) -> VisitOutcome:
        own = random.Random(f"{seed}/{n}")
        return Visit(
            commands, catalog, organization_id, plan, own, today, interfaces=interfaces,
            calls=calls, lookout=lookout,
        ).run()  # fmt: skip

    with ThreadPoolExecutor(max(1, concurrency), thread_name_prefix="visit") as pool:
        running = [pool.submit(visit, n, plan) for n, plan in enumerate(plans, start=1)]
        for done, finished in enumerate(as_completed(running), start=1):
            finished.result()  # a failed visit fails the day, with its own error
            on_visit(done)
    report = DayReport(organization_id=organization_id)
    for plan, finished in zip(plans, running, strict=True):
        outcome = finished.result()
        report.visits += 1
        report.commands.update(outcome.commands)
        report.criticals += outcome.criticals
        report.rejections += outcome.rejections
        report.stat_orders += plan.priority == "stat"
        report.correlation_ids.append(outcome.correlation_id)
    report.calls = calls.finish()  # the calls still open: escalations take their SLAs
    report.commands.update(report.calls.commands)
    return report
