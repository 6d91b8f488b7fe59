"""Sample aggregate: one tube from collection to the bench, or to rejection."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import asdict
from datetime import datetime, timedelta
from typing import Any, ClassVar, Self

from domains.catalog.model import Catalog
from domains.order.events import OrderedTest
from domains.order.model import Order
from domains.sample.events import SampleCollected, SampleReceived, SampleRejected, SampleRouted
from domains.sample.ports import check_accession_number
from domains.shared.aggregate import Aggregate
from domains.shared.errors import Conflict, IllegalTransition, InvalidInput

REJECTION_REASONS = (
    "hemolyzed",
    "clotted",
    "insufficient_quantity",
    "mislabeled",
    "wrong_container",
    "leaked",
    "expired",
)
CLOCK_SKEW = timedelta(minutes=5)  # handheld collection devices drift; minutes, not hours


class Sample(Aggregate):
    aggregate_type = "Sample"
    lookup_fields = ("accession_number", "order_id")
    transitions: ClassVar[dict[str, frozenset[str]]] = {
        "collected": frozenset({"received", "rejected"}),
        "received": frozenset({"routed", "rejected"}),
        # a bench can still reject (e.g. hemolysis seen after centrifuging)
        "routed": frozenset({"rejected"}),
        "rejected": frozenset(),
    }

    def __init__(
        self,
        *,
        id: str,
        organization_id: str,
        order_id: str,
        patient_id: str,
        accession_number: str,
        specimen_type: str,
        container: str,
        priority: str,
        tests: list[OrderedTest],
        collected_at: datetime,
        collected_by: str | None = None,
        received_at: datetime | None = None,
        department: str | None = None,
        bench: str | None = None,
        rejection_reason: str | None = None,
        status: str = "collected",
        version: int = 0,
    ) -> None:
        super().__init__(id=id, organization_id=organization_id, status=status, version=version)
        self.order_id = order_id
        self.patient_id = patient_id
        self.accession_number = accession_number
        self.specimen_type = specimen_type
        self.container = container
        self.priority = priority
        self.tests = tests
        self.collected_at = collected_at
        self.collected_by = collected_by
        self.received_at = received_at
        self.department = department
        self.bench = bench
        self.rejection_reason = rejection_reason

    @classmethod
    def collect(
        cls,
        *,
        id: str,
        order: Order,
        next_accession: Callable[[], str],
        specimen_type: str,
        loinc_codes: list[str],
        catalog: Catalog,
        collected_at: datetime,
        now: datetime,
        container: str | None = None,
        collected_by: str | None = None,
        on_live_tubes: Mapping[str, str] | None = None,
    ) -> Sample:
        """Collect a tube for some (default: all suitable, not yet collected) tests of a
        confirmed order.

        ``on_live_tubes`` maps each test of the order already on a live tube (not rejected,
        its result there not withdrawn) to that tube's accession number: a second tube for it
        would give two results for one test, and one of them would vanish from completion and
        the report. A repeat is a new tube once the first is rejected or its result withdrawn.

        The accession number is drawn only once every check has passed, so refused input
        never uses one up."""
        if collected_at.tzinfo is None or collected_at > now + CLOCK_SKEW:
            raise InvalidInput("collected_at", "must be a timezone-aware time, not in the future")
        tests = _tests_for_specimen(order, specimen_type, loinc_codes, catalog)
        busy = on_live_tubes or {}
        taken = [t for t in tests if t.loinc_code in busy]
        if loinc_codes and taken:
            raise Conflict(
                "already on a live tube: "
                + ", ".join(f"{t.name} ({busy[t.loinc_code]})" for t in taken)
                + "; reject that tube or invalidate its result before collecting again"
            )
        tests = [t for t in tests if t.loinc_code not in busy]
        if not tests:
            raise Conflict(
                f"every test of order {order.placer_order_number} that runs on {specimen_type} "
                "is already on a live tube"
            )
        order.check_accepts_samples()
        accession_number = check_accession_number(next_accession())
        sample = cls(
            id=id,
            organization_id=order.organization_id,
            order_id=order.id,
            patient_id=order.patient_id,
            accession_number=accession_number,
            specimen_type=specimen_type,
            container=container or tests[0].container,
            priority=order.priority,
            tests=tests,
            collected_at=collected_at,
            collected_by=collected_by,
        )
        sample._record(
            SampleCollected(
                sample_id=id,
                order_id=order.id,
                patient_id=order.patient_id,
                accession_number=accession_number,
                specimen_type=specimen_type,
                container=sample.container,
                priority=order.priority,
                collected_at=collected_at,
                loinc_codes=sample.loinc_codes,
                collected_by=collected_by,
            )
        )
        return sample

    @property
    def loinc_codes(self) -> list[str]:
        return [t.loinc_code for t in self.tests]

    def receive(self, received_at: datetime, *, now: datetime) -> None:
        if received_at.tzinfo is None:
            raise InvalidInput("received_at", "must be a timezone-aware time")
        if received_at > now + CLOCK_SKEW:
            raise InvalidInput("received_at", "cannot be in the future")
        if received_at < self.collected_at - CLOCK_SKEW:
            raise InvalidInput("received_at", "cannot be before the sample was collected")
        self._move_to("received", "be received")
        # within the skew, an arrival "before" collection is two clocks disagreeing, not a
        # time machine: the tube arrived no earlier than it was drawn
        self.received_at = max(received_at, self.collected_at)
        self._record(
            SampleReceived(
                sample_id=self.id,
                order_id=self.order_id,
                accession_number=self.accession_number,
                specimen_type=self.specimen_type,
                priority=self.priority,
                received_at=self.received_at,
                loinc_codes=self.loinc_codes,
            )
        )

    def reject(
        self,
        reason_code: str,
        *,
        reason_text: str | None = None,
        recollection_required: bool = True,
        resulted_tests: list[str] | None = None,
    ) -> None:
        """``resulted_tests`` names the tests with live results on this tube: such a sample is
        not rejected while they stay in play; they are invalidated first (a mislabelled tube
        found after resulting), then the tube is rejected and recollected."""
        if reason_code not in REJECTION_REASONS:
            raise InvalidInput("reason_code", f"must be one of {', '.join(REJECTION_REASONS)}")
        self._check_can_move_to("rejected", "be rejected")
        if resulted_tests:
            raise Conflict(
                f"sample {self.accession_number} already has results "
                f"({', '.join(resulted_tests)}) and can no longer be rejected; "
                "invalidate those results first (or amend them if only the value was wrong)"
            )
        self._move_to("rejected", "be rejected")
        self.rejection_reason = reason_code
        self._record(
            SampleRejected(
                sample_id=self.id,
                order_id=self.order_id,
                patient_id=self.patient_id,
                accession_number=self.accession_number,
                reason_code=reason_code,
                recollection_required=recollection_required,
                reason_text=reason_text,
            )
        )

    def route(self, department: str, bench: str) -> None:
        benches = {(t.department, t.bench) for t in self.tests}
        if (department, bench) not in benches:
            raise InvalidInput(
                "bench", f"no test on {self.accession_number} runs on {department}/{bench}"
            )
        self._move_to("routed", "be routed")
        self.department, self.bench = department, bench
        self._record(
            SampleRouted(
                sample_id=self.id,
                order_id=self.order_id,
                accession_number=self.accession_number,
                department=department,
                bench=bench,
            )
        )

    @property
    def is_live(self) -> bool:
        return self.status != "rejected"

    def check_accepts_results(self) -> None:
        if self.status not in ("received", "routed"):
            raise IllegalTransition(self.aggregate_type, self.status, "take a result")

    def snapshot(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "organization_id": self.organization_id,
            "status": self.status,
            "order_id": self.order_id,
            "patient_id": self.patient_id,
            "accession_number": self.accession_number,
            "specimen_type": self.specimen_type,
            "container": self.container,
            "priority": self.priority,
            "tests": [asdict(t) for t in self.tests],
            "collected_at": self.collected_at.isoformat(),
            "collected_by": self.collected_by,
            "received_at": self.received_at.isoformat() if self.received_at else None,
            "department": self.department,
            "bench": self.bench,
            "rejection_reason": self.rejection_reason,
        }

    @classmethod
    def restore(cls, snapshot: dict[str, Any], *, version: int) -> Self:
        s = dict(snapshot)
        s["tests"] = [OrderedTest(**t) for t in s["tests"]]
        s["collected_at"] = datetime.fromisoformat(s["collected_at"])
        s["received_at"] = datetime.fromisoformat(s["received_at"]) if s["received_at"] else None
        return cls(**s, version=version)


def _tests_for_specimen(
    order: Order, specimen_type: str, loinc_codes: list[str], catalog: Catalog
) -> list[OrderedTest]:
    if loinc_codes:
        wanted = [order.test(code, field="loinc_codes") for code in loinc_codes]
        for t in wanted:
            if not catalog.get(t.loinc_code).accepts_specimen(specimen_type):
                raise InvalidInput("specimen_type", f"{t.name} cannot be run on {specimen_type}")
        return wanted
    suitable = [t for t in order.tests if catalog.get(t.loinc_code).accepts_specimen(specimen_type)]
    if not suitable:
        raise InvalidInput("specimen_type", f"no test on the order can be run on {specimen_type}")
    return suitable
