"""What the simulated staff wait for: work the processors make for them. A technologist works
from the bench worklist (the sample is routed), a pathologist signs a report once it has been
generated; so the visit looks (in the database, through the unit of work) until the processors'
outcome is there, or fails with a clear error after ``timeout_s``.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

from domains.report.model import Report
from domains.sample.model import Sample
from domains.shared.uow import AbstractUnitOfWork

T = TypeVar("T")


class ProcessorsTooSlow(RuntimeError):
    """A processor's outcome the simulation depends on did not appear in time."""


class Lookout:
    def __init__(
        self,
        uow_factory: Callable[[], AbstractUnitOfWork],
        *,
        timeout_s: float = 60.0,
        poll_s: float = 0.2,
    ) -> None:
        self._uow_factory = uow_factory
        self.timeout_s = timeout_s
        self._poll_s = poll_s

    def until(self, what: str, look: Callable[[AbstractUnitOfWork], T | None]) -> T:
        deadline = time.monotonic() + self.timeout_s
        pause = 0.01  # most outcomes are there within a few tens of milliseconds
        while True:
            with self._uow_factory() as uow:
                found = look(uow)
            if found is not None:
                return found
            if time.monotonic() > deadline:
                raise ProcessorsTooSlow(
                    f"waited {self.timeout_s:.0f} s for {what}: are `lis relay` and "
                    "`lis worker` running against this database and topic namespace?"
                )
            time.sleep(pause)
            pause = min(pause * 2, self._poll_s)

    def routed(self, org: str, sample_id: str) -> str:
        """The bench the routing processor sent the sample to."""

        def look(uow: AbstractUnitOfWork) -> str | None:
            sample = uow.repository(Sample).get(org, sample_id)
            return sample.bench if sample.status == "routed" else None

        return self.until(f"sample {sample_id} to be routed", look)

    def report(self, org: str, order_id: str, version: int = 1) -> str:
        """The id of the order's report once its ``version`` is generated."""

        def look(uow: AbstractUnitOfWork) -> str | None:
            report = uow.repository(Report).find_by(org, order_id=order_id)
            return report.id if report and len(report.versions) >= version else None

        return self.until(f"version {version} of the report of order {order_id}", look)

    def delivered(self, org: str, report_id: str, version: int) -> None:
        def look(uow: AbstractUnitOfWork) -> bool | None:
            report = uow.repository(Report).get(org, report_id)
            done = (
                report.versions[version - 1].deliveries if len(report.versions) >= version else []
            )
            return True if done else None

        self.until(f"version {version} of report {report_id} to be delivered", look)
