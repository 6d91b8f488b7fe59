"""A simulated lab day: N patient visits, each a flow of commands through the message bus."""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date

from domains.catalog.model import Catalog
from domains.shared.bus import MessageBus
from domains.shared.ids import new_id
from infra.simulation.journey import Visit
from infra.simulation.lookout import Lookout
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
    lookout: Lookout | None = None,
) -> DayReport:
    """Drive ``patients`` visits; same seed, same day (the ids differ: they are random). The
    processors must be running (``lis relay`` and ``lis worker``): the staff wait for them."""
    rng = random.Random(seed)
    lookout = lookout or Lookout(bus.uow_factory)
    run = new_id()[:8]  # placer numbers are unique per run: a rerun is a new day's orders
    report = DayReport(organization_id=organization_id)
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
        visit = Visit(bus.handle, catalog, organization_id, plan, rng, today, lookout=lookout)
        outcome = visit.run()
        report.visits += 1
        report.commands.update(outcome.commands)
        report.criticals += outcome.criticals
        report.rejections += outcome.rejections
        report.stat_orders += plan.priority == "stat"
        report.correlation_ids.append(outcome.correlation_id)
        on_visit(n)
    return report
