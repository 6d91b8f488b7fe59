"""Lab policy: where practice differs between laboratories, each organization chooses, and the
default is the safe choice (patient safety first; a lab opts out explicitly, in writing).

Handlers ask a ``PolicySource`` for the organization's ``LabPolicy`` when they need a choice;
the adapter (infra: a policy file) and tests (``StaticPolicies``) provide it.
"""

from __future__ import annotations

import abc
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError


@dataclass(frozen=True)
class LabPolicy:
    # A single night-shift technologist may verify their own results (two-person rule off).
    allow_self_verification: bool = False
    # Reading results (issue 12a). A censored value (">5.5") is flagged as the most extreme value
    # it may take (HH when it may be critical); True flags it at its bound (H) instead.
    censored_at_bound: bool = False

    # -- issue 12: calendar, report identity, payments ------------------------------------
    # The lab's IANA time zone: dates of birth, ages at collection, accession dates and
    # printed times are in it (events stay UTC). The demo's lab is in India.
    time_zone: str = "Asia/Kolkata"
    # Printed on every report (ISO 15189 §7.4.1.6: the issuing laboratory's identity).
    lab_name: str = ""
    lab_address: str = ""
    # Whether a sample may be collected only once the order is paid in full. Off by default:
    # billing must never hold back a specimen; STAT orders are collected regardless.
    collection_requires_payment: bool = False

    # -- issue 8: critical values -----------------------------------------------------------
    # How long each person called has to read the value back before the next tier (lab
    # supervisor, then on-call pathologist) is notified. 15 minutes unless the lab says
    # otherwise; per priority where it differs ({"stat": 300}). The demo uses seconds.
    critical_ack_sla_seconds: float = 900.0
    critical_ack_sla_seconds_by_priority: dict[str, float] = field(default_factory=dict)

    def __post_init__(self) -> None:
        try:
            ZoneInfo(self.time_zone)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(
                f"time_zone: {self.time_zone!r} is not an IANA time zone (e.g. Asia/Kolkata)"
            ) from None
        slas = {
            "critical_ack_sla_seconds": self.critical_ack_sla_seconds,
            **{
                f"critical_ack_sla_seconds_by_priority.{priority}": seconds
                for priority, seconds in self.critical_ack_sla_seconds_by_priority.items()
            },
        }
        for key, seconds in slas.items():
            if not seconds > 0:  # also refuses NaN
                raise ValueError(f"{key}: must be more than 0 seconds")

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.time_zone)

    def critical_ack_sla(self, priority: str) -> timedelta:
        seconds = self.critical_ack_sla_seconds_by_priority.get(
            priority, self.critical_ack_sla_seconds
        )
        return timedelta(seconds=seconds)


class PolicySource(abc.ABC):
    @abc.abstractmethod
    def policy_for(self, organization_id: str) -> LabPolicy:
        """The organization's policy (the defaults where it chose nothing)."""


@dataclass(frozen=True)
class StaticPolicies(PolicySource):
    default: LabPolicy = field(default_factory=LabPolicy)
    organizations: Mapping[str, LabPolicy] = field(default_factory=dict)

    def policy_for(self, organization_id: str) -> LabPolicy:
        return self.organizations.get(organization_id, self.default)
