"""Sample commands."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from domains.shared.messages import Command


@dataclass(frozen=True, kw_only=True)
class CollectSample(Command):
    order_id: str
    specimen_type: str  # whole_blood | serum | plasma | citrated_plasma | urine | ...
    loinc_codes: list[str] = field(default_factory=list)  # empty: every suitable ordered test
    container: str | None = None
    collected_at: datetime | None = None  # default: now
    collected_by: str | None = None  # phlebotomist


@dataclass(frozen=True, kw_only=True)
class ReceiveSample(Command):
    sample_id: str
    received_at: datetime | None = None


@dataclass(frozen=True, kw_only=True)
class RejectSample(Command):
    sample_id: str
    reason_code: str  # hemolyzed | clotted | insufficient_quantity | mislabeled | ...
    reason_text: str | None = None
    recollection_required: bool = True


@dataclass(frozen=True, kw_only=True)
class RouteSample(Command):
    sample_id: str
    department: str
    bench: str
