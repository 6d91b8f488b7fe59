"""What every step of a simulated visit shares: the bus, the plan, the staff, and one flow id.
Staff do what people do; routing, completion, reports and their delivery are the processors'
(``lookout``: what the staff wait for before acting on it).

Every command of one visit shares one correlation_id: the visit is one business flow, and
``lis trace`` / the flow test follow it through the causation chain.
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from domains.catalog.model import Catalog
from domains.shared.ids import new_id
from domains.shared.messages import Command
from infra.simulation.clinicians import CriticalCalls, ImmediateCalls
from infra.simulation.lookout import Lookout
from infra.simulation.people import Staff
from infra.simulation.plan import VisitPlan

Send = Callable[[Command], dict[str, Any]]


@dataclass
class VisitOutcome:
    correlation_id: str
    commands: Counter[str] = field(default_factory=Counter)
    criticals: int = 0
    rejections: int = 0


class VisitContext:
    """One visit's state; each step is one command through the bus (``send``)."""

    def __init__(
        self,
        send: Send,
        catalog: Catalog,
        org: str,
        plan: VisitPlan,
        rng: random.Random,
        today: date,
        staff: Staff = Staff(),
        interfaces: Any = None,  # infra.simulation.interop.Interfaces: HL7 for some steps
        calls: CriticalCalls | None = None,
        *,
        lookout: Lookout,
    ) -> None:
        self.send_command, self.catalog, self.org, self.plan = send, catalog, org, plan
        # who answers critical value calls (infra/simulation/clinicians.py)
        self.calls = calls or ImmediateCalls(send)
        self.rng, self.today, self.staff = rng, today, staff
        self.lookout = lookout  # processors' work the staff wait for
        self.outcome = VisitOutcome(correlation_id=new_id())
        self.result_codes: dict[str, str] = {}
        self.interfaces = interfaces
        self.accessions: dict[str, str] = {}  # sample id -> accession number

    def send(self, factory: Callable[..., Command], user: str, **fields: Any) -> dict[str, Any]:
        command = factory(
            organization_id=self.org,
            user_id=user,
            correlation_id=self.outcome.correlation_id,
            **fields,
        )
        self.outcome.commands[type(command).__name__] += 1
        return self.send_command(command)
