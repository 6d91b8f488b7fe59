"""A critical value episode, an entity of the Result: detected -> (escalated ...) ->
acknowledged by read-back, or superseded when the value it was raised for is amended away.

One result can have several episodes (an amendment that is still critical opens a new one), so
each carries its own id and its own small state machine. At most one episode of a result is
open at a time: an amendment closes the open one as ``superseded`` before any new detection.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any, ClassVar

from domains.shared.aggregate import Transitions, check_transition
from domains.shared.errors import IllegalTransition, InvalidInput

KIND = "CriticalValue"


class CriticalValueClosed(IllegalTransition):
    """The episode is over (acknowledged, or superseded by an amendment): nobody is to be
    called or escalated to about it any more (HTTP 409)."""

    code = "critical_value_closed"

    def __init__(self, critical_id: str, state: str, action: str) -> None:
        super().__init__(KIND, state, action)
        self.critical_id = critical_id
        self.args = (f"critical value {critical_id} is already {state} and cannot {action}",)


@dataclass
class CriticalEpisode:
    transitions: ClassVar[Transitions] = {
        "open": frozenset({"escalated", "acknowledged", "superseded"}),
        "escalated": frozenset({"escalated", "acknowledged", "superseded"}),
        "acknowledged": frozenset(),
        "superseded": frozenset(),
    }

    critical_id: str
    flag: str
    value_text: str
    detected_at: datetime
    status: str = "open"
    tier: int = 0
    acknowledged_by: str | None = None
    called_by: str | None = None
    acknowledged_at: datetime | None = None
    superseded_at: datetime | None = None
    superseded_reason: str | None = None  # e.g. "amendment 2: transcription error"

    @property
    def is_open(self) -> bool:
        return bool(self.transitions[self.status])

    def check_can_move_to(self, status: str, action: str) -> None:
        if not self.is_open:
            raise CriticalValueClosed(self.critical_id, self.status, action)
        check_transition(self.transitions, KIND, self.status, status, action)

    def acknowledge(
        self, *, acknowledged_by: str, called_by: str, at: datetime, read_back_confirmed: bool
    ) -> None:
        """The read-back record of the call: who phoned, who took it, when, value read back."""
        if not read_back_confirmed:
            raise InvalidInput("read_back_confirmed", "the receiver must read the value back")
        for value, name in ((acknowledged_by, "acknowledged_by"), (called_by, "called_by")):
            if not value.strip():
                raise InvalidInput(name, "is required for a critical value call")
        self.check_can_move_to("acknowledged", "be acknowledged")
        if at < self.detected_at:
            raise InvalidInput("acknowledged_at", "is before the critical value was detected")
        self.status = "acknowledged"
        self.acknowledged_by, self.called_by, self.acknowledged_at = acknowledged_by, called_by, at

    def escalate(self, tier: int) -> None:
        if tier < 1:
            raise InvalidInput("tier", "escalation tiers start at 1")
        self.check_can_move_to("escalated", "be escalated")
        if tier <= self.tier:
            raise IllegalTransition(
                KIND, f"escalated to tier {self.tier}", f"escalate to tier {tier}"
            )
        self.status, self.tier = "escalated", tier

    def supersede(self, reason: str, now: datetime) -> None:
        """The value this episode was raised for has been amended: close it, saying why."""
        self.check_can_move_to("superseded", "be superseded")
        self.status, self.superseded_at, self.superseded_reason = "superseded", now, reason

    @property
    def minutes_to_acknowledge(self) -> int:
        assert self.acknowledged_at is not None
        return int((self.acknowledged_at - self.detected_at).total_seconds() // 60)

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        for key in ("detected_at", "acknowledged_at", "superseded_at"):
            value = getattr(self, key)
            d[key] = value.isoformat() if value else None
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> CriticalEpisode:
        times = {
            key: datetime.fromisoformat(d[key]) if d.get(key) else None
            for key in ("acknowledged_at", "superseded_at")
        }
        return cls(**{**d, **times, "detected_at": datetime.fromisoformat(d["detected_at"])})
