"""Report events (topic ``lis.report.events``)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from domains.shared.messages import Event


@dataclass(frozen=True, kw_only=True)
class CriticalCall:
    """The documented read-back call of a critical value, as the report prints it."""

    critical_id: str
    value_text: str  # the value that was phoned (an amendment may have changed it since)
    flag: str
    called_by: str
    acknowledged_by: str
    acknowledged_at: datetime


@dataclass(frozen=True, kw_only=True)
class ReportLine:
    """One verified result as printed on the report, with its specimen (ISO 15189 §7.4.1.6)."""

    result_id: str
    loinc_code: str
    test_name: str
    value_text: str
    unit: str
    flag: str
    reference_text: str
    amended: bool = False
    # the catalog version the value was read against, and why it carries no flag (issue 12)
    catalog_version: str | None = None
    interpretation_note: str | None = None
    accession_number: str | None = None
    specimen_type: str | None = None
    collected_at: datetime | None = None
    received_at: datetime | None = None
    verified_by: str | None = None
    self_verified: bool | None = None  # released under the lab's self-verification policy
    # set when the result was withdrawn (invalidated): the line says so instead of a value
    withdrawn_reason: str | None = None
    critical_calls: list[CriticalCall] = field(default_factory=list)


@dataclass(frozen=True, kw_only=True)
class ReportSource:
    """A result a report version was generated from, at the version it had then: a version
    whose results have changed since is out of date and is neither signed nor delivered."""

    result_id: str
    result_version: int


@dataclass(frozen=True, kw_only=True)
class ReportGenerated(Event):
    event_type = "REPORT_GENERATED"
    aggregate_type = "Report"

    report_id: str
    order_id: str
    patient_id: str
    mrn: str
    report_version: int  # 1, then +1 per amended report
    lines: list[ReportLine]
    catalog_version: str
    result_ids: list[str] = field(default_factory=list)
    amendment_reason: str | None = None
    sources: list[ReportSource] = field(default_factory=list)


@dataclass(frozen=True, kw_only=True)
class ReportSigned(Event):
    event_type = "REPORT_SIGNED"
    aggregate_type = "Report"

    report_id: str
    order_id: str
    report_version: int
    signed_by: str  # pathologist, as printed on the report (free text)
    signed_at: datetime
    # who signed: the authenticated user's id (the printed name above is not an identity)
    signed_by_user_id: str | None = None


@dataclass(frozen=True, kw_only=True)
class ReportDelivered(Event):
    event_type = "REPORT_DELIVERED"
    aggregate_type = "Report"

    report_id: str
    order_id: str
    report_version: int
    recipient_role: str  # patient | ordering_clinician | referrer | ...
    recipient_name: str
    channel: str  # email | sms | portal | print | whatsapp
    delivered_at: datetime
    destination_masked: str | None = None
