"""One patient's visit, from registration to a delivered report, issued as commands on the bus."""

from __future__ import annotations

from dataclasses import replace

from domains.order.commands import CompleteOrder, ConfirmOrder, PlaceOrder
from domains.result.commands import EnterResult, VerifyResult
from domains.sample.commands import CollectSample, ReceiveSample, RejectSample, RouteSample
from infra.simulation import corrections, desk, payments
from infra.simulation.clinicians import PROVIDER_IDS, Call
from infra.simulation.context import VisitContext, VisitOutcome
from infra.simulation.people import CLINICIANS
from infra.simulation.plan import PANELS
from infra.simulation.reporting import deliver_report
from infra.simulation.values import reading

REJECTION_CODES = ["hemolyzed", "clotted", "insufficient_quantity", "mislabeled"]


class Visit(VisitContext):
    """Drives one plan, step by step."""

    def run(self) -> VisitOutcome:
        p, s = self.plan.patient, self.staff
        loincs = sorted({code for panel in self.plan.panels for code in PANELS[panel]})
        self.clinician = self.rng.choice(CLINICIANS)
        hl7 = self.interfaces
        if hl7 is not None and hl7.takes_order(self.rng.random()):  # OML^O21 over MLLP
            patient_id, order_id = hl7.place_order(self.org, p, self.plan, loincs)
            return self._from_collection(order_id, loincs)
        patient_id = desk.register_or_find(
            self,
            s.desk,
            family_name=p.family_name,
            given_name=p.given_name,
            date_of_birth=p.date_of_birth,
            sex=p.sex,
            mobile=p.mobile,
            aadhaar=p.aadhaar,
            allow_duplicate=True,
        )
        order_id = self.send(
            PlaceOrder,
            s.desk,
            patient_id=patient_id,
            loinc_codes=loincs,
            placer_order_number=self.plan.placer_order_number,
            priority=self.plan.priority,
            ordering_clinician_name=self.clinician,
            ordering_clinician_contact="+919800000001",
            ordering_provider_id=PROVIDER_IDS.get(self.clinician),
        )["order_id"]
        self.send(ConfirmOrder, s.desk, order_id=order_id)
        return self._from_collection(order_id, loincs)

    def _from_collection(self, order_id: str, loincs: list[str]) -> VisitOutcome:
        s = self.staff
        payments.before_collection(self, order_id)
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
        deliver_report(self, order_id, result_ids)
        corrections.after_delivery(self, order_id, result_ids)
        payments.after_report(self, order_id)
        return self.outcome

    def _by_specimen(self, loincs: list[str]) -> dict[str, list[str]]:
        groups: dict[str, list[str]] = {}
        for code in loincs:
            groups.setdefault(self.catalog.get(code).specimen_type, []).append(code)
        return groups

    def _collect_and_receive(self, order_id: str, specimen: str, codes: list[str]) -> str:
        s = self.staff
        collected = self.send(
            CollectSample,
            s.phlebotomist,
            order_id=order_id,
            specimen_type=specimen,
            loinc_codes=codes,
        )
        sample_id: str = collected["sample_id"]
        self.accessions[sample_id] = collected["accession_number"]
        if self.plan.reject_first_sample:
            self.send(
                RejectSample,
                s.technologist,
                sample_id=sample_id,
                reason_code=self.rng.choice(REJECTION_CODES),
            )
            self.outcome.rejections += 1
            self.plan = replace(self.plan, reject_first_sample=False)
            collected = self.send(
                CollectSample,
                s.phlebotomist,
                order_id=order_id,
                specimen_type=specimen,
                loinc_codes=codes,
            )
            sample_id = collected["sample_id"]
            self.accessions[sample_id] = collected["accession_number"]
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
        hl7 = self.interfaces
        if hl7 is not None and hl7.analyzes(test):  # the analyzer sends it: ORU^R01 over MLLP
            accession = self.accessions[sample_id]
            entered = hl7.enter_result(self.org, sample_id, accession, test, value)
        else:
            entered = self.send(
                EnterResult,
                self.staff.technologist,
                sample_id=sample_id,
                loinc_code=code,
                value_text=value,
                unit=test.unit or None,
            )
        for critical_id in entered["critical_ids"]:
            self._call_clinician(entered["result_id"], critical_id)
        self.result_codes[str(entered["result_id"])] = code
        return str(entered["result_id"])

    def _call_clinician(self, result_id: str, critical_id: str) -> None:
        """The read-back is a person's, once they have been reached (clinicians.py); escalating
        an unanswered call is the critical worker's timers' job, not the simulation's."""
        self.outcome.criticals += 1
        self.calls.call(
            Call(
                organization_id=self.org, correlation_id=self.outcome.correlation_id,
                result_id=result_id, critical_id=critical_id,
                called_by=self.staff.technologist, clinician=self.clinician,
                leave_to_escalate=self.plan.escalate_before_ack,
            )
        )  # fmt: skip
