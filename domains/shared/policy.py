"""Lab policy: where practice differs between laboratories, each organization chooses, and the
default is the safe choice (patient safety first; a lab opts out explicitly, in writing).

Handlers ask a ``PolicySource`` for the organization's ``LabPolicy`` when they need a choice;
the adapter (infra: a policy file) and tests (``StaticPolicies``) provide it.
"""

from __future__ import annotations

import abc
from collections.abc import Mapping
from dataclasses import dataclass, field


@dataclass(frozen=True)
class LabPolicy:
    # A single night-shift technologist may verify their own results (two-person rule off).
    allow_self_verification: bool = False
    # Reading results (issue 12a). A censored value (">5.5") is flagged as the most extreme value
    # it may take (HH when it may be critical); True flags it at its bound (H) instead.
    censored_at_bound: bool = False


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
