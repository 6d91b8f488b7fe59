"""The clock port shared by every domain (for "now" and the lab's calendar day). Adapters:
SystemClock here; FakeClock in tests/unit/fakes.py.

Instants are UTC everywhere (events, storage). A calendar day (date of birth checks, accession
dates, age at collection) and a printed time are the lab's: ``local_date`` / ``local_time`` in
the organization's time zone (``LabPolicy.time_zone``)."""

from __future__ import annotations

import abc
from datetime import UTC, date, datetime, tzinfo


class Clock(abc.ABC):
    @abc.abstractmethod
    def now(self) -> datetime:
        """Timezone-aware UTC now."""

    @abc.abstractmethod
    def today(self) -> date:
        """This process's calendar day. Handlers use the organization's day instead
        (``local_date(clock.now(), policy.zone)``): one process serves labs in several zones."""


class SystemClock(Clock):
    def __init__(self, local_tz: tzinfo = UTC) -> None:
        self.local_tz = local_tz  # e.g. ZoneInfo("Asia/Kolkata"): a lab day is a local day

    def now(self) -> datetime:
        return datetime.now(UTC)

    def today(self) -> date:
        return self.now().astimezone(self.local_tz).date()


def local_date(instant: datetime, zone: tzinfo) -> date:
    """The calendar day ``instant`` falls on where the lab is."""
    return local_time(instant, zone).date()


def local_time(instant: datetime, zone: tzinfo) -> datetime:
    if instant.tzinfo is None:
        raise ValueError("a naive time has no place on the lab's calendar")
    return instant.astimezone(zone)
