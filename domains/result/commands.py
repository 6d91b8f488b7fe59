"""Result commands."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from domains.shared.messages import Command


@dataclass(frozen=True, kw_only=True)
class EnterResult(Command):
    sample_id: str
    loinc_code: str
    value_text: str  # as read off the analyser: "5.10", "<0.01", "Reactive"
    unit: str | None = None  # UCUM; None/"" for coded tests
    # set when an analyzer sent the value (HL7 ORU^R01: MSH-3 / OBX-18, OBX-19)
    analyzer_id: str | None = None
    analyzed_at: datetime | None = None


@dataclass(frozen=True, kw_only=True)
class VerifyResult(Command):
    result_id: str


@dataclass(frozen=True, kw_only=True)
class AmendResult(Command):
    result_id: str
    value_text: str
    reason: str
    unit: str | None = None


@dataclass(frozen=True, kw_only=True)
class AcknowledgeCriticalValue(Command):
    """The read-back record of a critical value phone call."""

    result_id: str
    acknowledged_by: str  # who took the call (clinician / ward nurse)
    called_by: str  # lab staff who phoned
    read_back_confirmed: bool
    critical_id: str | None = None  # default: the result's latest critical episode
    acknowledged_at: datetime | None = None  # default: now


@dataclass(frozen=True, kw_only=True)
class EscalateCriticalValue(Command):
    result_id: str
    tier: int
    critical_id: str | None = None
    reason: str | None = None


@dataclass(frozen=True, kw_only=True)
class InvalidateResult(Command):
    """Withdraw a value that must not be acted on (mislabelled specimen found after resulting,
    analytical fault): the result ends, with who, when and a coded reason."""

    result_id: str
    reason_code: str  # domains.result.corrections.INVALIDATION_REASONS
    reason_text: str | None = None
