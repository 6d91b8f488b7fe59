"""Result aggregate: one test's value on one sample, flagged, verified, amended; with its
critical value episodes (detection, escalation, read-back acknowledgement).

Its parts beside it: ``value`` (subject and current value), ``critical_values``, ``snapshot``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, ClassVar, Self

from domains.catalog.interpretation import Interpretation, Reading
from domains.catalog.model import TestDefinition
from domains.result import events as ev
from domains.result.critical import CriticalEpisode
from domains.result.critical_values import CriticalValues
from domains.result.snapshot import from_snapshot, to_snapshot
from domains.result.value import ResultContext, ResultValue
from domains.shared.aggregate import Transitions
from domains.shared.errors import InvalidInput, PermissionDenied

__all__ = ["Result", "ResultContext"]


class Result(CriticalValues, ResultValue):
    aggregate_type = "Result"
    lookup_fields = ("order_id", "sample_id", "loinc_code")
    transitions: ClassVar[Transitions] = {
        # an unverified result is simply corrected ("entered" -> "entered")
        "entered": frozenset({"entered", "verified"}),
        # a verified value that changes is a new, unverified value: "amended" waits for a
        # second person to verify it before it counts (order completion, reports) again
        "verified": frozenset({"amended"}),
        "amended": frozenset({"amended", "verified"}),
    }

    def __init__(
        self,
        *,
        id: str,
        organization_id: str,
        context: ResultContext,
        test: TestDefinition,
        catalog_version: str,
        entered_by: str | None,
        status: str = "entered",
        version: int = 0,
    ) -> None:
        super().__init__(id=id, organization_id=organization_id, status=status, version=version)
        self.context = context
        self.loinc_code = test.loinc_code
        self.test_name = test.name
        self.catalog_version = catalog_version
        self.entered_by = entered_by
        self.reading = Reading(value=None, value_text="", unit="")
        self.interpretation = Interpretation(flag="N", is_critical=False)
        self.verified_by: str | None = None
        self.amendments: list[dict[str, Any]] = []
        self.criticals: list[CriticalEpisode] = []

    @property
    def is_verified(self) -> bool:
        """The current value has been verified: only such a value completes an order or is
        printed on a report."""
        return self.status == "verified"

    @property
    def has_been_verified(self) -> bool:
        """Some value of this result was released once (an order holding it cannot be
        cancelled), even if an amendment now awaits verification."""
        return self.status in ("verified", "amended")

    @classmethod
    def enter(
        cls,
        *,
        id: str,
        organization_id: str,
        context: ResultContext,
        test: TestDefinition,
        value_text: str,
        unit: str | None,
        catalog_version: str,
        entered_by: str | None,
        now: datetime,
    ) -> Result:
        result = cls(
            id=id,
            organization_id=organization_id,
            context=context,
            test=test,
            catalog_version=catalog_version,
            entered_by=entered_by,
        )
        result._read(test, value_text, unit)
        r, i, c = result.reading, result.interpretation, context
        result._record(
            ev.ResultEntered(
                result_id=id,
                order_id=c.order_id,
                sample_id=c.sample_id,
                patient_id=c.patient_id,
                accession_number=c.accession_number,
                loinc_code=test.loinc_code,
                test_name=test.name,
                value_text=r.value_text,
                unit=r.unit,
                flag=i.flag,
                catalog_version=catalog_version,
                is_critical=i.is_critical,
                value=r.value,
                reference_low=i.reference_low,
                reference_high=i.reference_high,
                reference_text=i.reference_text or None,
                entered_value_text=r.entered_value_text,
                entered_unit=r.entered_unit,
            )
        )
        result._detect_critical(test, now)
        return result

    def verify(self, verifier: str | None, *, allow_self_verification: bool) -> None:
        if not verifier:
            raise InvalidInput("user_id", "verification needs the verifying user")
        self._check_can_move_to("verified", "be verified")
        if verifier == self.value_written_by and not allow_self_verification:
            raise PermissionDenied(
                "a result must be verified by someone other than the person who entered "
                "or last amended its value"
            )
        self._move_to("verified", "be verified")
        self.verified_by = verifier
        r = self.reading
        self._record(
            ev.ResultVerified(
                result_id=self.id,
                order_id=self.order_id,
                sample_id=self.sample_id,
                loinc_code=self.loinc_code,
                value_text=r.value_text,
                unit=r.unit,
                flag=self.interpretation.flag,
                verified_by=verifier,
                value=r.value,
            )
        )

    def amend(
        self,
        *,
        test: TestDefinition,
        value_text: str,
        unit: str | None,
        reason: str,
        amended_by: str | None,
        now: datetime,
    ) -> None:
        """Correct the value; the old one stays in ``amendments`` and the flags are redone."""
        if not reason.strip():
            raise InvalidInput("reason", "an amendment needs a reason")
        previous, previous_flag = self.reading.value_text, self.interpretation.flag
        after_verification = self.status != "entered"
        if after_verification and not amended_by:
            # the amender is who must not verify the new value: an anonymous one can't be told
            raise InvalidInput("user_id", "amending a verified result needs the amending user")
        self._read(test, value_text, unit)
        self._move_to("amended" if after_verification else "entered", "be amended")
        self.verified_by = None  # the new value is nobody's verified value yet
        number = len(self.amendments) + 1
        self.amendments.append(
            {
                "amendment_number": number,
                "previous_value_text": previous,
                "previous_flag": previous_flag,
                "value_text": self.reading.value_text,
                "reason": reason.strip(),
                "amended_by": amended_by,
                "amended_at": now.isoformat(),
                "after_verification": after_verification,
            }
        )
        # the value a critical episode was raised for is gone: close it before a new one
        # (if the new value is critical too) opens, so a result never has two open episodes
        superseded = self._supersede_open_criticals(f"amendment {number}: {reason.strip()}", now)
        r, i = self.reading, self.interpretation
        self._record(
            ev.ResultAmended(
                result_id=self.id,
                order_id=self.order_id,
                sample_id=self.sample_id,
                patient_id=self.context.patient_id,
                loinc_code=self.loinc_code,
                amendment_number=number,
                reason=reason.strip(),
                previous_value_text=previous,
                previous_flag=previous_flag,
                value_text=r.value_text,
                unit=r.unit,
                flag=i.flag,
                is_critical=i.is_critical,
                value=r.value,
                superseded_critical_ids=superseded,
            )
        )
        self._detect_critical(test, now)

    def snapshot(self) -> dict[str, Any]:
        return to_snapshot(self)

    @classmethod
    def restore(cls, snapshot: dict[str, Any], *, version: int) -> Self:
        return from_snapshot(cls, snapshot, version=version)
