"""What happens to one simulated patient, decided up front: panels, priority, mishaps."""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date

from domains.catalog.model import Catalog
from infra.simulation.mishaps import plan_correction, plan_payment
from infra.simulation.people import SyntheticPatient
from infra.simulation.values import can_be_critical

PANELS: dict[str, list[str]] = {
    "CBC": ["718-7", "4544-3", "789-8", "6690-2", "777-3"],
    "RFT": ["2951-2", "2823-3", "2075-0", "3094-0", "2160-0"],
    "LFT": ["1975-2", "1742-6", "1920-8", "6768-6", "1751-7"],
    "LIPID": ["2093-3", "2571-8", "2085-9"],
    "DIABETES": ["2345-7", "4548-4"],
    "THYROID": ["3016-3", "3024-7"],
    "CARDIAC": ["89579-7", "2823-3"],
    "COAG": ["6301-6", "5902-2"],
    "CRP": ["1988-5"],
}


@dataclass(frozen=True)
class VisitPlan:
    """What happens to one patient, decided up front from the seeded random source."""

    patient: SyntheticPatient
    panels: tuple[str, ...]
    priority: str
    reject_first_sample: bool
    critical_loinc: str | None
    escalate_before_ack: bool
    amend_after_sign: bool
    placer_order_number: str
    # issue 12 (mishaps.py): how the bill is paid, and a correction after sign-off; None: none
    payment: str | None = None
    correction: str | None = None


def plan_visit(
    rng: random.Random,
    catalog: Catalog,
    patient: SyntheticPatient,
    n: int,
    run: str,
    today: date,
    *,
    critical_rate: float,
    reject_rate: float,
) -> VisitPlan:
    stat = rng.random() < 0.15
    panels = ("CARDIAC",) if stat else tuple(rng.sample(sorted(PANELS), k=rng.randint(1, 3)))
    loincs = sorted({code for p in panels for code in PANELS[p]})
    critical_pool = [c for c in loincs if can_be_critical(catalog.get(c))]
    critical = rng.choice(critical_pool) if critical_pool and rng.random() < critical_rate else None
    return VisitPlan(
        patient=patient,
        panels=panels,
        priority="stat" if stat else rng.choice(["routine", "routine", "routine", "urgent"]),
        reject_first_sample=rng.random() < reject_rate,
        critical_loinc=critical,
        escalate_before_ack=critical is not None and rng.random() < 0.3,
        amend_after_sign=rng.random() < 0.04,
        placer_order_number=f"HIS-{today:%Y%m%d}-{run}-{n:05d}",
        payment=plan_payment(rng, n),
        correction=plan_correction(rng, n),
    )
