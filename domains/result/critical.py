"""A critical value episode: detected -> (escalated ...) -> acknowledged by read-back.

One result can have several episodes (an amendment that is still critical opens a new one), so
each carries its own id and its own small state machine.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any, ClassVar

from domains.shared.errors import IllegalTransition


@dataclass
class CriticalEpisode:
    transitions: ClassVar[dict[str, frozenset[str]]] = {
        "open": frozenset({"escalated", "acknowledged"}),
        "escalated": frozenset({"escalated", "acknowledged"}),
        "acknowledged": frozenset(),
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

    def check_can_move_to(self, status: str, action: str) -> None:
        if status not in self.transitions[self.status]:
            raise IllegalTransition("CriticalValue", self.status, action)

    def move_to(self, status: str, action: str) -> None:
        self.check_can_move_to(status, action)
        self.status = status

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["detected_at"] = self.detected_at.isoformat()
        d["acknowledged_at"] = self.acknowledged_at.isoformat() if self.acknowledged_at else None
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> CriticalEpisode:
        return cls(
            **{
                **d,
                "detected_at": datetime.fromisoformat(d["detected_at"]),
                "acknowledged_at": (
                    datetime.fromisoformat(d["acknowledged_at"]) if d["acknowledged_at"] else None
                ),
            }
        )
