"""The lab day's interfaces: some visits' orders arrive from the hospital system as OML^O21 and
most chemistry values come from the analyzer as ORU^R01, both over MLLP to ``lis hl7 listen``.

``Visit`` asks ``Interfaces`` (when the day has them) at two points: placing the order and
entering a result; everything else stays on the bus as before. The ids the rest of the visit
needs are looked up the way a lab system would find them (placer number, accession number).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from domains.catalog.model import TestDefinition
from domains.shared.clock import Clock
from domains.shared.ids import derived_id
from infra.hl7.er7 import Seg
from infra.hl7.store import InterfaceStore, Partner
from infra.simulation import analyzer, hospital_system
from infra.simulation.analyzer import Measurement
from infra.simulation.hospital_system import HisOrder, HisPatient

ANALYZER_BENCH = "chemistry-analyzer"


class InterfaceRefused(RuntimeError):
    """The listener answered AE/AR: the day stops with the reason (a simulation bug)."""


@dataclass
class Interfaces:
    host: str
    port: int
    store: InterfaceStore
    clock: Clock
    his_share: float = 0.3  # of visits ordered by the hospital system
    exchanged: list[tuple[str, str]] = field(default_factory=list)  # (message, answer)
    counts: dict[str, int] = field(default_factory=lambda: {"OML^O21": 0, "ORU^R01": 0})
    # each message is a flow of its own (its commands' correlation id): what the day caused
    correlation_ids: list[str] = field(default_factory=list)
    # visits overlap (threads): the bookkeeping above is shared
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def register_partners(self, organization_id: str) -> None:
        self.store.add_partner(Partner(
            hospital_system.APPLICATION, hospital_system.FACILITY, organization_id, "his"
        ))  # fmt: skip
        self.store.add_partner(Partner(
            analyzer.APPLICATION, analyzer.FACILITY, organization_id, "analyzer",
            analyzer.ASSAY_CODES,
        ))  # fmt: skip

    def takes_order(self, rng_value: float) -> bool:
        return rng_value < self.his_share

    def place_order(self, org: str, patient: Any, plan: Any, loincs: list[str]) -> tuple[str, str]:
        """Send the order as OML^O21; (patient id, order id) as the lab filed it."""
        # the hospital's id for this person: the same person always has the same id
        person = derived_id(patient.family_name, patient.given_name, patient.mobile)
        his_patient = HisPatient(
            "H" + person.replace("-", "")[:12], patient.family_name, patient.given_name,
            patient.date_of_birth, patient.sex, patient.mobile,
        )  # fmt: skip
        order = HisOrder(plan.placer_order_number, loincs, plan.priority, "Rao", "Vikram")
        control_id = f"OML{plan.placer_order_number}"[-20:]
        message = hospital_system.oml_o21(control_id, his_patient, order, lab=org, now=self._now())
        self._send("OML^O21", message)
        order_id = self.store.order_by_placer(org, plan.placer_order_number)
        owner = self.store.order_patient(org, plan.placer_order_number)
        assert order_id is not None
        assert owner is not None
        return owner, order_id

    def analyzes(self, test: TestDefinition) -> bool:
        return test.bench == ANALYZER_BENCH and test.loinc_code in analyzer.CODE_OF

    def enter_result(
        self, org: str, sample_id: str, accession: str, test: TestDefinition, value: str
    ) -> dict[str, Any]:
        """Send one value as the analyzer would; the result id the lab filed it under and its
        critical episodes (to be phoned, as for a typed value)."""
        control_id = f"R{accession}{analyzer.CODE_OF[test.loinc_code]}"[-20:]
        measurement = Measurement(test.loinc_code, value, test.unit)
        message = analyzer.oru_r01(control_id, accession, [measurement], lab=org, now=self._now())
        self._send("ORU^R01", message)
        result_id = self.store.result_id(org, sample_id, test.loinc_code)
        assert result_id is not None
        return {"result_id": result_id, "critical_ids": self.store.critical_ids(org, result_id)}

    def _send(self, kind: str, message: str) -> None:
        msh = Seg("MSH", message.split("\r", 1)[0].split("|"))
        sender = f"{msh.get(3)}|{msh.get(4)}"
        msa = hospital_system.send(message, self.host, self.port)
        with self._lock:
            self.correlation_ids.append(derived_id("hl7", sender, msh.get(10)))
            self.exchanged.append((message, msa.get(1)))
            self.counts[kind] += 1
        if msa.get(1) != "AA":
            raise InterfaceRefused(f"{kind} answered {msa.get(1)}: {msa.get(3)}")

    def _now(self) -> datetime:
        return self.clock.now() - timedelta(seconds=1)
