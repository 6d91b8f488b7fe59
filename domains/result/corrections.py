"""What happens to a result after the fact: withdrawn (invalidated: the value must not be
acted on) or read again because the patient's sex or date of birth was corrected.

A mixin of the Result aggregate, kept apart so the aggregate's own file stays readable; it
records the Result's events and moves it along the Result's transition table.
"""

from __future__ import annotations

import dataclasses
from datetime import date, datetime
from typing import Any

from domains.catalog.interpretation import Interpretation, Reading, interpret
from domains.catalog.model import TestDefinition
from domains.result import events as ev
from domains.result.critical import CriticalEpisode
from domains.shared.aggregate import Aggregate
from domains.shared.errors import InvalidInput

INVALIDATION_REASONS = (
    "mislabeled_specimen",  # the tube was not this patient's, or not this test's
    "wrong_patient",
    "specimen_contaminated",  # e.g. drawn above a drip
    "specimen_integrity",  # haemolysis, clot or delay found after resulting
    "analytical_error",
    "instrument_fault",
    "qc_failure",  # the run's quality control failed afterwards
    "entered_in_error",  # typed on the wrong test or sample
)


class ResultCorrections(Aggregate):
    """Invalidation and re-interpretation of a Result (see ``domains.result.model``)."""

    # provided by Result
    context: Any  # ResultContext
    loinc_code: str
    reading: Reading
    interpretation: Interpretation
    criticals: list[CriticalEpisode]
    invalidation: dict[str, Any] | None
    review_required: str | None
    catalog_version: str

    def _detect_critical(
        self, test: TestDefinition, now: datetime, interpretation: Interpretation | None = None
    ) -> None:
        raise NotImplementedError

    @property
    def is_live(self) -> bool:
        """Not withdrawn: its value counts (completion, reports, one live result per test)."""
        return self.status != "invalidated"

    @property
    def open_critical(self) -> CriticalEpisode | None:
        """The critical value episode nobody has yet documented a read-back call for."""
        return next((e for e in self.criticals if e.is_open), None)

    def invalidate(
        self, *, reason_code: str, reason_text: str | None, by: str | None, now: datetime
    ) -> None:
        if reason_code not in INVALIDATION_REASONS:
            raise InvalidInput("reason_code", f"must be one of {', '.join(INVALIDATION_REASONS)}")
        if not by:
            raise InvalidInput("user_id", "withdrawing a result needs the user who withdraws it")
        self._check_can_move_to("invalidated", "be invalidated")
        was_released = self.status != "entered"
        why = f"invalidated ({reason_code})"
        superseded = self._close_open_critical(why, now)
        previous = self.status
        self._move_to("invalidated", "be invalidated")
        self.invalidation = {
            "reason_code": reason_code,
            "reason_text": reason_text,
            "invalidated_by": by,
            "invalidated_at": now.isoformat(),
            "was_released": was_released,
            "status_before": previous,
        }
        self.review_required = None
        c = self.context
        self._record(
            ev.ResultInvalidated(
                result_id=self.id,
                order_id=c.order_id,
                sample_id=c.sample_id,
                patient_id=c.patient_id,
                loinc_code=self.loinc_code,
                reason_code=reason_code,
                invalidated_by=by,
                invalidated_at=now,
                previous_value_text=self.reading.value_text,
                previous_flag=self.interpretation.flag,
                was_released=was_released,
                reason_text=reason_text,
                superseded_critical_ids=superseded,
            )
        )

    def reinterpret(
        self,
        *,
        test: TestDefinition,
        sex: str,
        date_of_birth: date,
        changed_fields: list[str],
        now: datetime,
        catalog_version: str,
        censored_at_bound: bool,
    ) -> None:
        """Read the value again for the corrected patient. What was released stays as released
        (a report may have gone out with it) and is marked for review; an unreleased value
        simply takes the new flag. A critical value under the corrected demographics is
        called now either way: a review queue is no place for it."""
        if not self.is_live:
            return
        self.context = dataclasses.replace(
            self.context, patient_sex=sex, patient_date_of_birth=date_of_birth
        )
        corrected = interpret(
            test,
            self.reading,
            sex=sex,
            date_of_birth=date_of_birth,
            on=self.context.collected_on,
            censored_at_bound=censored_at_bound,
        )
        released = self.status == "verified"
        reason = "patient " + " and ".join(f.replace("_", " ") for f in changed_fields)
        reason += " corrected"
        previous_flag = self.interpretation.flag
        # the flag and the printed reference interval both follow sex and age
        differs = (corrected.flag, corrected.reference_text) != (
            previous_flag,
            self.interpretation.reference_text,
        )
        if not released:
            self.interpretation, self.catalog_version = corrected, catalog_version
        elif differs:
            self.review_required = (
                f"{reason}: flag {previous_flag} would now be {corrected.flag} "
                f"(reference {corrected.reference_text or 'none'})"
            )
        superseded = [] if corrected.is_critical else self._close_open_critical(reason, now)
        c = self.context
        self._record(
            ev.ResultReinterpreted(
                result_id=self.id,
                order_id=c.order_id,
                sample_id=c.sample_id,
                patient_id=c.patient_id,
                loinc_code=self.loinc_code,
                reason=reason,
                changed_fields=changed_fields,
                previous_flag=previous_flag,
                flag=corrected.flag,
                is_critical=corrected.is_critical,
                review_required=released and differs,
                reference_low=corrected.reference_low,
                reference_high=corrected.reference_high,
                reference_text=corrected.reference_text or None,
                superseded_critical_ids=superseded,
                catalog_version=catalog_version,
            )
        )
        if corrected.is_critical and self.open_critical is None:
            self._detect_critical(test, now, corrected)

    def _close_open_critical(self, reason: str, now: datetime) -> list[str]:
        superseded = [e for e in self.criticals if e.is_open]
        for episode in superseded:
            episode.supersede(reason, now)
        return [e.critical_id for e in superseded]
