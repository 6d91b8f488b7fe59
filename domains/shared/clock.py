"""The clock port shared by every domain (for "now" and the lab's calendar day). Adapters:
SystemClock here; FakeClock in tests/unit/fakes.py."""

from __future__ import annotations

import abc
from datetime import UTC, date, datetime, tzinfo


class Clock(abc.ABC):
    @abc.abstractmethod
    def now(self) -> datetime:
        """Timezone-aware UTC now."""

    @abc.abstractmethod
    def today(self) -> date:
        """The lab's calendar day (accession dates, date-of-birth checks)."""


class SystemClock(Clock):
    def __init__(self, local_tz: tzinfo = UTC) -> None:
        self.local_tz = local_tz  # e.g. ZoneInfo("Asia/Kolkata"): a lab day is a local day

    def now(self) -> datetime:
        return datetime.now(UTC)

    def today(self) -> date:
        return self.now().astimezone(self.local_tz).date()
