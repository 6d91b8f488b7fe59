"""Lab policy: where practice differs between laboratories, each organization chooses, and the
default is the safe choice (patient safety first; a lab opts out explicitly, in writing).

Handlers ask a ``PolicySource`` for the organization's ``LabPolicy`` when they need a choice;
the adapter (infra: a policy file) and tests (``StaticPolicies``) provide it.
"""

from __future__ import annotations

import abc
from collections.abc import Mapping
from dataclasses import dataclass, field
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

    def __post_init__(self) -> None:
        try:
            ZoneInfo(self.time_zone)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(
                f"time_zone: {self.time_zone!r} is not an IANA time zone (e.g. Asia/Kolkata)"
            ) from None

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.time_zone)


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
