"""Order aggregate: which tests were asked for whom, by whom, how urgently; and its lifecycle."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any, ClassVar, Self

from domains.catalog.model import TestDefinition
from domains.order.events import (
    OrderCancelled,
    OrderCompleted,
    OrderConfirmed,
    OrderCreated,
    OrderedTest,
)
from domains.patient.model import Patient
from domains.shared.aggregate import Aggregate
from domains.shared.contacts import mask_contact, normalize_contact
from domains.shared.errors import Conflict, IllegalTransition, InvalidInput

PRIORITIES = ("routine", "urgent", "stat")


def ordered_test(test: TestDefinition) -> OrderedTest:
    return OrderedTest(
        loinc_code=test.loinc_code,
        name=test.name,
        specimen_type=test.specimen_type,
        container=test.container,
        department=test.department,
        bench=test.bench,
    )


def _required(value: str, field: str, max_length: int = 200) -> str:
    text = value.strip()
    if not text or len(text) > max_length:
        raise InvalidInput(field, f"is required (at most {max_length} characters)")
    return text


class Order(Aggregate):
    aggregate_type = "Order"
    lookup_fields = ("placer_order_number", "patient_id")
    transitions: ClassVar[dict[str, frozenset[str]]] = {
        "created": frozenset({"confirmed", "cancelled"}),
        "confirmed": frozenset({"completed", "cancelled"}),
        "completed": frozenset(),
        "cancelled": frozenset(),
    }

    def __init__(
        self,
        *,
        id: str,
        organization_id: str,
        patient_id: str,
        mrn: str,
        placer_order_number: str,
        priority: str,
        tests: list[OrderedTest],
        clinician_name: str,
        clinician_contact: str | None,
        catalog_version: str,
        clinical_notes: str | None = None,
        cancel_reason: str | None = None,
        status: str = "created",
        version: int = 0,
        provider_id: str | None = None,
    ) -> None:
        super().__init__(id=id, organization_id=organization_id, status=status, version=version)
        self.patient_id = patient_id
        self.mrn = mrn
        self.placer_order_number = placer_order_number
        self.priority = priority
        self.tests = tests
        self.clinician_name = clinician_name
        self.clinician_contact = clinician_contact  # normalized mobile/email; masked in events
        self.catalog_version = catalog_version
        self.clinical_notes = clinical_notes
        self.cancel_reason = cancel_reason
        self.provider_id = provider_id  # the ordering clinician in the provider directory

    @classmethod
    def place(
        cls,
        *,
        id: str,
        patient: Patient,
        placer_order_number: str,
        priority: str,
        tests: list[TestDefinition],
        clinician_name: str,
        clinician_contact: str | None,
        catalog_version: str,
        clinical_notes: str | None = None,
        provider_id: str | None = None,
    ) -> Order:
        if priority not in PRIORITIES:
            raise InvalidInput("priority", f"must be one of {', '.join(PRIORITIES)}")
        if not tests:
            raise InvalidInput("loinc_codes", "at least one test must be ordered")
        codes = [t.loinc_code for t in tests]
        if len(set(codes)) != len(codes):
            raise InvalidInput("loinc_codes", "a test is ordered twice")
        placer = _required(placer_order_number, "placer_order_number", 64)
        name = _required(clinician_name, "ordering_clinician_name")
        contact = (
            normalize_contact(clinician_contact, field="ordering_clinician_contact")
            if clinician_contact
            else None
        )
        provider = provider_id.strip() if provider_id else None
        if provider is not None and not 0 < len(provider) <= 64:
            raise InvalidInput("ordering_provider_id", "must be 1 to 64 characters")
        if patient.is_deleted:
            raise Conflict(f"patient {patient.mrn} is deleted and cannot be ordered for")
        order = cls(
            id=id,
            organization_id=patient.organization_id,
            patient_id=patient.id,
            mrn=patient.mrn,
            placer_order_number=placer,
            priority=priority,
            tests=[ordered_test(t) for t in tests],
            clinician_name=name,
            clinician_contact=contact,
            catalog_version=catalog_version,
            clinical_notes=clinical_notes,
            provider_id=provider,
        )
        order._record(
            OrderCreated(
                order_id=id,
                patient_id=patient.id,
                mrn=patient.mrn,
                placer_order_number=placer,
                priority=priority,
                tests=order.tests,
                ordering_clinician_name=name,
                catalog_version=catalog_version,
                clinical_notes=clinical_notes,
                ordering_clinician_contact_masked=mask_contact(contact) if contact else None,
                ordering_provider_id=provider,
            )
        )
        return order

    @property
    def loinc_codes(self) -> list[str]:
        return [t.loinc_code for t in self.tests]

    def differences(
        self,
        *,
        patient_id: str,
        loinc_codes: list[str],
        priority: str,
        clinician_name: str,
        clinician_contact: str | None,
        clinical_notes: str | None,
    ) -> list[str]:
        """What a placing of this order's placer number asks for differently: nothing for a
        retry of the same message. An optional field the resend leaves out is not a
        difference (not said is not contradicted); one it states otherwise is."""
        contact = (
            normalize_contact(clinician_contact, field="ordering_clinician_contact")
            if clinician_contact
            else None
        )
        checks = [
            ("patient_id", patient_id == self.patient_id),
            ("loinc_codes", sorted(loinc_codes) == sorted(self.loinc_codes)),
            ("priority", priority == self.priority),
            ("ordering_clinician_name", clinician_name.strip() == self.clinician_name),
            ("ordering_clinician_contact", contact is None or contact == self.clinician_contact),
            ("clinical_notes", clinical_notes is None or clinical_notes == self.clinical_notes),
        ]
        return [name for name, same in checks if not same]

    def test(self, loinc_code: str, *, field: str = "loinc_code") -> OrderedTest:
        for t in self.tests:
            if t.loinc_code == loinc_code:
                return t
        raise InvalidInput(field, f"test {loinc_code} is not on order {self.placer_order_number}")

    def confirm(self) -> None:
        self._move_to("confirmed", "confirm")
        self._record(
            OrderConfirmed(
                order_id=self.id,
                patient_id=self.patient_id,
                placer_order_number=self.placer_order_number,
                priority=self.priority,
                loinc_codes=self.loinc_codes,
            )
        )

    def cancel(
        self,
        reason: str,
        *,
        verified_loinc_codes: set[str],
        uncalled_critical_tests: list[str] | None = None,
    ) -> None:
        """``uncalled_critical_tests``: tests with a critical value whose read-back call is not
        documented. The patient has that value whatever happens to the order: the call is made
        and recorded first, so cancelling never leaves an episode open for ever."""
        text = _required(reason, "reason", 500)
        self._check_can_move_to("cancelled", "cancel")
        if verified_loinc_codes:
            raise IllegalTransition(
                self.aggregate_type, self.status, "cancel: results are already verified"
            )
        if uncalled_critical_tests:
            raise IllegalTransition(
                self.aggregate_type,
                self.status,
                "cancel: critical values not yet called and read back "
                f"({', '.join(uncalled_critical_tests)})",
            )
        self._move_to("cancelled", "cancel")
        self.cancel_reason = text
        self._record(
            OrderCancelled(
                order_id=self.id,
                patient_id=self.patient_id,
                placer_order_number=self.placer_order_number,
                reason=text,
            )
        )

    def complete(self, verified_result_ids: dict[str, str]) -> None:
        """Complete once every ordered test has a verified result (loinc -> result id)."""
        self._check_can_move_to("completed", "complete")
        missing = [c for c in self.loinc_codes if c not in verified_result_ids]
        if missing:
            raise IllegalTransition(
                self.aggregate_type,
                self.status,
                f"complete: tests {', '.join(missing)} not verified",
            )
        self._move_to("completed", "complete")
        self._record(
            OrderCompleted(
                order_id=self.id,
                patient_id=self.patient_id,
                placer_order_number=self.placer_order_number,
                result_ids=[verified_result_ids[c] for c in self.loinc_codes],
            )
        )

    def check_accepts_samples(self) -> None:
        if self.status != "confirmed":
            raise IllegalTransition(self.aggregate_type, self.status, "collect a sample")

    def check_accepts_results(self) -> None:
        if self.status in ("cancelled", "completed"):
            raise IllegalTransition(self.aggregate_type, self.status, "take a result")

    def check_reportable(self, action: str) -> None:
        """Only a completed order (every test verified) gets a report (DESIGN)."""
        if self.status != "completed":
            raise IllegalTransition(self.aggregate_type, self.status, action)

    def check_not_cancelled(self, action: str) -> None:
        if self.status == "cancelled":
            raise IllegalTransition(self.aggregate_type, self.status, action)

    def snapshot(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "organization_id": self.organization_id,
            "status": self.status,
            "patient_id": self.patient_id,
            "mrn": self.mrn,
            "placer_order_number": self.placer_order_number,
            "priority": self.priority,
            "tests": [asdict(t) for t in self.tests],
            "clinician_name": self.clinician_name,
            "clinician_contact": self.clinician_contact,
            "catalog_version": self.catalog_version,
            "clinical_notes": self.clinical_notes,
            "cancel_reason": self.cancel_reason,
            "provider_id": self.provider_id,
        }

    @classmethod
    def restore(cls, snapshot: dict[str, Any], *, version: int) -> Self:
        s = dict(snapshot)
        tests = [OrderedTest(**t) for t in s.pop("tests")]
        return cls(**s, tests=tests, version=version)
