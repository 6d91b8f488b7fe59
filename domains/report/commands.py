"""Report commands."""

from __future__ import annotations

from dataclasses import dataclass, field

from domains.shared.messages import Command


@dataclass(frozen=True, kw_only=True)
class Recipient:
    role: str  # patient | ordering_clinician | referrer | ...
    name: str
    channel: str  # email | sms | whatsapp | portal | print
    # mobile or email for email/sms/whatsapp; PHI, so not in the repr
    destination: str | None = field(default=None, repr=False)


@dataclass(frozen=True, kw_only=True)
class GenerateReport(Command):
    """Generating twice for one order returns the existing report (processors retry)."""

    order_id: str


@dataclass(frozen=True, kw_only=True)
class AmendReport(Command):
    """Re-generate from the current verified results as version + 1 (after a result amend)."""

    order_id: str
    reason: str


@dataclass(frozen=True, kw_only=True)
class SignReport(Command):
    report_id: str
    pathologist_name: str


@dataclass(frozen=True, kw_only=True)
class DeliverReport(Command):
    report_id: str
    recipients: list[Recipient] = field(default_factory=list)
