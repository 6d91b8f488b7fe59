"""What a result is about, and its current value: read in that context, and who wrote it."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

from domains.catalog.interpretation import Interpretation, Reading, interpret, read_value
from domains.catalog.model import TestDefinition
from domains.shared.aggregate import Aggregate


@dataclass(frozen=True)
class ResultContext:
    """Who and what a result is about, fixed at entry (ranges use age at collection)."""

    order_id: str
    sample_id: str
    patient_id: str
    accession_number: str
    priority: str
    patient_sex: str
    patient_date_of_birth: date = field(repr=False)  # PHI: not in reprs and logs
    collected_on: date


class ResultValue(Aggregate):
    """Mixin of ``Result`` (which sets this state up): its subject and its current value."""

    context: ResultContext
    entered_by: str | None
    reading: Reading
    interpretation: Interpretation
    amendments: list[dict[str, Any]]

    @property
    def order_id(self) -> str:
        return self.context.order_id

    @property
    def sample_id(self) -> str:
        return self.context.sample_id

    @property
    def is_corrected(self) -> bool:
        """A released value was changed afterwards (the report marks the line "(c)")."""
        return any(a.get("after_verification", False) for a in self.amendments)

    @property
    def value_written_by(self) -> str | None:
        """Who typed the current value: its enterer, or its latest amender."""
        return self.amendments[-1]["amended_by"] if self.amendments else self.entered_by

    def _read(self, test: TestDefinition, value_text: str, unit: str | None) -> None:
        c = self.context
        self.reading = read_value(test, value_text, unit)
        self.interpretation = interpret(
            test,
            self.reading,
            sex=c.patient_sex,
            date_of_birth=c.patient_date_of_birth,
            on=c.collected_on,
        )
