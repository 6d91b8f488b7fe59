"""A critical value episode: detected -> (escalated ...) -> acknowledged by read-back, or
superseded when the value it was raised for is amended away.

One result can have several episodes (an amendment that is still critical opens a new one), so
each carries its own id and its own small state machine. At most one episode of a result is
open at a time: an amendment closes the open one as ``superseded`` before any new detection.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any, ClassVar

from domains.shared.aggregate import Transitions, check_transition
from domains.shared.errors import IllegalTransition

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

    def move_to(self, status: str, action: str) -> None:
        self.check_can_move_to(status, action)
        self.status = status

    def supersede(self, reason: str, now: datetime) -> None:
        """The value this episode was raised for has been amended: close it, saying why."""
        self.move_to("superseded", "be superseded")
        self.superseded_at, self.superseded_reason = now, reason

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
