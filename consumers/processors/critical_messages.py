"""What a critical value call says: the episode's facts (from CRITICAL_VALUE_DETECTED, kept with
its timers for the escalations) and the text sent per channel and tier."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from typing import Any

from domains.result.events import CriticalValueDetected, CriticalValueEscalated

# who is called at each tier: 0 the ordering clinician, then the escalation tiers
TIER_ROLES = {0: "ordering_clinician", 1: "lab_supervisor", 2: "pathologist"}
LAST_TIER = max(TIER_ROLES)
ROLE_TITLES = {
    "ordering_clinician": "ordering clinician",
    "lab_supervisor": "lab supervisor",
    "pathologist": "on-call pathologist",
}


@dataclass(frozen=True)
class Episode:
    critical_id: str
    result_id: str
    order_id: str
    loinc_code: str
    detected_at: str  # ISO 8601
    priority: str = "routine"
    test_name: str | None = None
    value_text: str | None = None
    unit: str | None = None
    flag: str | None = None
    critical_low: float | None = None
    critical_high: float | None = None
    patient_id: str | None = None
    mrn: str | None = None
    placer_order_number: str | None = None
    accession_number: str | None = None
    collected_at: str | None = None
    ordering_provider_id: str | None = None
    ordering_clinician_name: str | None = None

    @classmethod
    def detected(cls, e: CriticalValueDetected) -> Episode:
        return cls(
            critical_id=e.critical_id, result_id=e.result_id, order_id=e.order_id,
            loinc_code=e.loinc_code, detected_at=e.detected_at.isoformat(), priority=e.priority,
            test_name=e.test_name, value_text=e.value_text, unit=e.unit, flag=e.flag,
            critical_low=e.critical_low, critical_high=e.critical_high,
            patient_id=e.patient_id, mrn=e.mrn, placer_order_number=e.placer_order_number,
            accession_number=e.accession_number,
            collected_at=e.collected_at.isoformat() if e.collected_at else None,
            ordering_provider_id=e.ordering_provider_id,
            ordering_clinician_name=e.ordering_clinician_name,
        )  # fmt: skip

    @classmethod
    def escalated_only(cls, e: CriticalValueEscalated) -> Episode:
        """An escalation whose detection this processor never saw: what the event says."""
        return cls(
            critical_id=e.critical_id, result_id=e.result_id, order_id=e.order_id,
            loinc_code=e.loinc_code, detected_at=e.escalated_at.isoformat(),
        )  # fmt: skip

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Episode:
        return cls(**d)

    @property
    def detected_time(self) -> datetime:
        return datetime.fromisoformat(self.detected_at)


@dataclass(frozen=True)
class Text:
    subject: str
    body: str


def _limits(ep: Episode) -> str:
    parts = []
    if ep.critical_low is not None:
        parts.append(f"< {ep.critical_low:g}")
    if ep.critical_high is not None:
        parts.append(f"> {ep.critical_high:g}")
    return " or ".join(parts) or "see the catalog"


def _value(ep: Episode) -> str:
    if ep.value_text is None:
        return "(see the result)"
    return f"{ep.value_text} {ep.unit or ''}".strip() + (f" ({ep.flag})" if ep.flag else "")


def message(ep: Episode, *, tier: int, recipient: str, channel: str, sla: timedelta) -> Text:
    test = ep.test_name or f"LOINC {ep.loinc_code}"
    who = f"MRN {ep.mrn}" if ep.mrn else f"patient {ep.patient_id or '?'}"
    order = ep.placer_order_number or ep.order_id
    minutes = max(1, round(sla.total_seconds() / 60)) if sla.total_seconds() >= 60 else None
    within = f"{minutes} min" if minutes else f"{sla.total_seconds():g} s"
    escalation = (
        f"ESCALATED to the {ROLE_TITLES[TIER_ROLES[tier]]}: not acknowledged in time. "
        if tier
        else ""
    )
    subject = f"CRITICAL VALUE{' (escalated)' if tier else ''}: {test} {_value(ep)} - {who}"
    if channel != "email":  # one short text message
        return Text(
            subject,
            f"{escalation}{who}, order {order}. Call the lab to read back within {within}. "
            f"Ref {ep.critical_id[:8]}",
        )
    next_role = TIER_ROLES.get(tier + 1)
    then = f"it is escalated to the {ROLE_TITLES[next_role]}" if next_role else "it stays open"
    lines = [
        f"Dear {recipient},",
        "",
        escalation + "A critical value needs your attention now.",
        "",
        f"  Test:       {test} (LOINC {ep.loinc_code})",
        f"  Value:      {_value(ep)}; critical limits {_limits(ep)}",
        f"  Patient:    {who}",
        f"  Order:      {order} (priority {ep.priority})"
        + (f", accession {ep.accession_number}" if ep.accession_number else ""),
        f"  Collected:  {ep.collected_at or 'unknown'}",
        f"  Detected:   {ep.detected_at}",
        "",
        f"Please call the laboratory and read the value back within {within}; otherwise {then}.",
        "",
        f"Reference: critical value {ep.critical_id}",
    ]
    return Text(subject, "\n".join(lines))
