"""One patient's visit, from registration to a delivered report, issued as commands on the bus.

Every command of one visit shares one correlation_id: the visit is one business flow, and
``lis trace`` / the flow test follow it through the causation chain.
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import date
from typing import Any

from domains.catalog.model import Catalog
from domains.order.commands import CompleteOrder, ConfirmOrder, PlaceOrder
from domains.patient.commands import RegisterPatient
from domains.report.commands import (
    AmendReport,
    DeliverReport,
    GenerateReport,
    Recipient,
    SignReport,
)
from domains.result.commands import (
    AcknowledgeCriticalValue,
    AmendResult,
    EnterResult,
    EscalateCriticalValue,
    VerifyResult,
)
from domains.sample.commands import CollectSample, ReceiveSample, RejectSample, RouteSample
from domains.shared.ids import new_id
from domains.shared.messages import Command
from infra.simulation.people import CLINICIANS, SyntheticPatient
from infra.simulation.values import can_be_critical, reading

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
REJECTION_CODES = ["hemolyzed", "clotted", "insufficient_quantity", "mislabeled"]

Send = Callable[[Command], dict[str, Any]]


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


@dataclass
class VisitOutcome:
    correlation_id: str
    commands: Counter[str] = field(default_factory=Counter)
    criticals: int = 0
    rejections: int = 0


@dataclass(frozen=True)
class Staff:
    desk: str = "desk.reception"
    phlebotomist: str = "phleb.ravi"
    technologist: str = "tech.anita"
    verifier: str = "tech.suresh"
    pathologist: str = "Dr. M. Pillai (MD Path)"


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
    )


class Visit:
    """Drives one plan; each step is one command through the bus."""

    def __init__(
        self,
        send: Send,
        catalog: Catalog,
        org: str,
        plan: VisitPlan,
        rng: random.Random,
        today: date,
        staff: Staff = Staff(),
    ) -> None:
        self.send_command, self.catalog, self.org, self.plan = send, catalog, org, plan
        self.rng, self.today, self.staff = rng, today, staff
        self.outcome = VisitOutcome(correlation_id=new_id())
        self.result_codes: dict[str, str] = {}

    def send(self, factory: Callable[..., Command], user: str, **fields: Any) -> dict[str, Any]:
        command = factory(
            organization_id=self.org,
            user_id=user,
            correlation_id=self.outcome.correlation_id,
            **fields,
        )
        self.outcome.commands[type(command).__name__] += 1
        return self.send_command(command)

    def run(self) -> VisitOutcome:
        p, s = self.plan.patient, self.staff
        patient_id = self.send(
            RegisterPatient,
            s.desk,
            family_name=p.family_name,
            given_name=p.given_name,
            date_of_birth=p.date_of_birth,
            sex=p.sex,
            mobile=p.mobile,
            aadhaar=p.aadhaar,
            allow_duplicate=True,
        )["patient_id"]
        loincs = sorted({code for panel in self.plan.panels for code in PANELS[panel]})
        order_id = self.send(
            PlaceOrder,
            s.desk,
            patient_id=patient_id,
            loinc_codes=loincs,
            placer_order_number=self.plan.placer_order_number,
            priority=self.plan.priority,
            ordering_clinician_name=self.rng.choice(CLINICIANS),
            ordering_clinician_contact="+919800000001",
        )["order_id"]
        self.send(ConfirmOrder, s.desk, order_id=order_id)
        result_ids = []
        for specimen, codes in self._by_specimen(loincs).items():
            sample_id = self._collect_and_receive(order_id, specimen, codes)
            first = self.catalog.get(codes[0])
            self.send(
                RouteSample,
                s.technologist,
                sample_id=sample_id,
                department=first.department,
                bench=first.bench,
            )
            result_ids += [self._result(sample_id, code) for code in codes]
        for result_id in result_ids:
            self.send(VerifyResult, s.verifier, result_id=result_id)
        self.send(CompleteOrder, s.verifier, order_id=order_id)
        self._report(order_id, result_ids)
        return self.outcome

    def _by_specimen(self, loincs: list[str]) -> dict[str, list[str]]:
        groups: dict[str, list[str]] = {}
        for code in loincs:
            groups.setdefault(self.catalog.get(code).specimen_type, []).append(code)
        return groups

    def _collect_and_receive(self, order_id: str, specimen: str, codes: list[str]) -> str:
        s = self.staff
        sample_id: str = self.send(
            CollectSample,
            s.phlebotomist,
            order_id=order_id,
            specimen_type=specimen,
            loinc_codes=codes,
        )["sample_id"]
        if self.plan.reject_first_sample:
            self.send(
                RejectSample,
                s.technologist,
                sample_id=sample_id,
                reason_code=self.rng.choice(REJECTION_CODES),
            )
            self.outcome.rejections += 1
            self.plan = replace(self.plan, reject_first_sample=False)
            sample_id = self.send(
                CollectSample,
                s.phlebotomist,
                order_id=order_id,
                specimen_type=specimen,
                loinc_codes=codes,
            )["sample_id"]
        self.send(ReceiveSample, s.technologist, sample_id=sample_id)
        return sample_id

    def _result(self, sample_id: str, code: str) -> str:
        test, p = self.catalog.get(code), self.plan.patient
        critical = code == self.plan.critical_loinc
        value = reading(
            self.rng,
            test,
            sex=p.sex,
            date_of_birth=p.date_of_birth,
            on=self.today,
            critical=critical,
        )
        entered = self.send(
            EnterResult,
            self.staff.technologist,
            sample_id=sample_id,
            loinc_code=code,
            value_text=value,
            unit=test.unit or None,
        )
        for _ in entered["critical_ids"]:
            self._call_clinician(entered["result_id"])
        self.result_codes[str(entered["result_id"])] = code
        return str(entered["result_id"])

    def _call_clinician(self, result_id: str) -> None:
        self.outcome.criticals += 1
        if self.plan.escalate_before_ack:
            self.send(
                EscalateCriticalValue,
                "escalation.policy",
                result_id=result_id,
                tier=2,
                reason="no acknowledgement within 15 minutes",
            )
        self.send(
            AcknowledgeCriticalValue,
            self.staff.technologist,
            result_id=result_id,
            acknowledged_by="Sr. Nurse J. Thomas (ward 4)",
            called_by=self.staff.technologist,
            read_back_confirmed=True,
        )

    def _report(self, order_id: str, result_ids: list[str]) -> None:
        s = self.staff
        report_id = self.send(GenerateReport, s.pathologist, order_id=order_id)["report_id"]
        self.send(SignReport, s.pathologist, report_id=report_id, pathologist_name=s.pathologist)
        recipients = [
            Recipient(
                role="patient", name="patient", channel="sms", destination=self.plan.patient.mobile
            ),
            Recipient(role="ordering_clinician", name="clinician", channel="portal"),
        ]
        self.send(DeliverReport, s.pathologist, report_id=report_id, recipients=recipients)
        if self.plan.amend_after_sign and result_ids:
            self._amend(order_id, report_id, result_ids[0])

    def _amend(self, order_id: str, report_id: str, result_id: str) -> None:
        """A signed report turns out wrong: amend the result, have a second person verify the
        new value, then re-issue, re-sign and re-deliver the report."""
        s, p = self.staff, self.plan.patient
        code = self.result_codes[result_id]
        test = self.catalog.get(code)
        value = reading(
            self.rng, test, sex=p.sex, date_of_birth=p.date_of_birth, on=self.today, critical=False
        )
        self.send(
            AmendResult,
            s.technologist,
            result_id=result_id,
            value_text=value,
            unit=test.unit or None,
            reason="transcription error corrected after ward call",
        )
        self.send(VerifyResult, s.verifier, result_id=result_id)
        self.send(
            AmendReport, s.pathologist, order_id=order_id, reason="result amended after sign-off"
        )
        self.send(SignReport, s.pathologist, report_id=report_id, pathologist_name=s.pathologist)
        self.send(
            DeliverReport,
            s.pathologist,
            report_id=report_id,
            recipients=[Recipient(role="ordering_clinician", name="clinician", channel="portal")],
        )
