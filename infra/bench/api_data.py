"""The benchmark's lab: patients with a confirmed order of every serum test, one sample each,
collected and received, so every (sample, test) can take one EnterResult. Made through the bus
(not timed), in a fresh database."""

from __future__ import annotations

import random
import uuid
from dataclasses import dataclass
from datetime import date
from typing import Any

from domains.catalog.model import Catalog
from domains.order.commands import ConfirmOrder, PlaceOrder
from domains.patient.commands import RegisterPatient
from domains.result.commands import EnterResult
from domains.sample.commands import CollectSample, ReceiveSample
from domains.shared.bus import MessageBus
from domains.shared.messages import Command
from infra.simulation.people import synthetic_patient
from infra.simulation.values import reading

ORG = "lab-bench"


@dataclass(frozen=True)
class Entry:
    """One result to enter: the EnterResult fields but for identity."""

    sample_id: str
    loinc_code: str
    value_text: str
    unit: str | None


def received_samples(
    bus: MessageBus, catalog: Catalog, entries_wanted: int, seed: int = 7
) -> list[Entry]:
    """Enough received samples for ``entries_wanted`` results, and a normal value for each."""
    rng, today = random.Random(seed), date.today()
    serum = [t for t in catalog if t.specimen_type == "serum"]
    codes = [t.loinc_code for t in serum]
    entries: list[Entry] = []
    n = 0
    while len(entries) < entries_wanted:
        n += 1
        person = synthetic_patient(rng, today)
        patient_id = _send(
            bus,
            RegisterPatient,
            family_name=person.family_name,
            given_name=person.given_name,
            date_of_birth=person.date_of_birth,
            sex=person.sex,
            allow_duplicate=True,
        )["patient_id"]
        order_id = _send(
            bus,
            PlaceOrder,
            patient_id=patient_id,
            loinc_codes=codes,
            placer_order_number=f"BENCH-{uuid.uuid4().hex[:12]}",
            ordering_clinician_name="Dr. Bench",
        )["order_id"]
        _send(bus, ConfirmOrder, order_id=order_id)
        sample_id = _send(bus, CollectSample, order_id=order_id, specimen_type="serum")["sample_id"]
        _send(bus, ReceiveSample, sample_id=sample_id)
        for test in serum:
            value = reading(
                rng,
                test,
                sex=person.sex,
                date_of_birth=person.date_of_birth,
                on=today,
                critical=False,
            )
            entries.append(Entry(sample_id, test.loinc_code, value, test.unit or None))
    rng.shuffle(entries)
    return entries[:entries_wanted]


def _send(bus: MessageBus, command: type[Command], **fields: Any) -> dict[str, Any]:
    return bus.handle(command(organization_id=ORG, user_id="bench.desk", **fields))


def enter_command(entry: Entry, user_id: str) -> EnterResult:
    return EnterResult(
        organization_id=ORG,
        user_id=user_id,
        sample_id=entry.sample_id,
        loinc_code=entry.loinc_code,
        value_text=entry.value_text,
        unit=entry.unit,
    )
