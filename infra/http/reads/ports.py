"""What the API reads, always within one organization. Views are JSON-able dicts with the
secrets left out (Aadhaar token, raw contact numbers): see ``views``."""

from __future__ import annotations

import abc
from dataclasses import dataclass
from datetime import date
from typing import Any

View = dict[str, Any]


@dataclass(frozen=True)
class Page:
    limit: int = 20
    offset: int = 0


@dataclass(frozen=True)
class PatientQuery:
    mrn: str | None = None
    mobile: str | None = None
    name: str | None = None
    date_of_birth: date | None = None


class ReadModels(abc.ABC):
    @abc.abstractmethod
    def patient(self, org: str, patient_id: str) -> View | None: ...

    @abc.abstractmethod
    def search_patients(self, org: str, query: PatientQuery, page: Page) -> list[View]: ...

    @abc.abstractmethod
    def order(self, org: str, order_id: str) -> View | None:
        """The order with its samples and results."""

    @abc.abstractmethod
    def sample(self, org: str, sample_id: str) -> View | None:
        """The sample with its timeline (who did what, when)."""

    @abc.abstractmethod
    def result(self, org: str, result_id: str) -> View | None: ...

    @abc.abstractmethod
    def report(self, org: str, report_id: str) -> View | None: ...

    @abc.abstractmethod
    def critical_worklist(self, org: str, page: Page) -> list[View]:
        """Critical values not yet acknowledged (open or escalated), oldest first."""

    @abc.abstractmethod
    def bench_worklist(self, org: str, bench: str, page: Page) -> list[View]:
        """Samples routed to a bench with tests still awaiting a result, STAT first."""
