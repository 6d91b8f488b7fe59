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


@dataclass(frozen=True)
class LabPolicy:
    # A single night-shift technologist may verify their own results (two-person rule off).
    allow_self_verification: bool = False

    # Critical values: how long each person called has to read the value back before the
    # next tier (lab supervisor, then on-call pathologist) is notified. 15 minutes unless the
    # lab says otherwise; per priority where it differs ({"stat": 300}). The demo uses seconds.
    critical_ack_sla_seconds: float = 900.0
    critical_ack_sla_seconds_by_priority: dict[str, float] = field(default_factory=dict)

    def __post_init__(self) -> None:
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
