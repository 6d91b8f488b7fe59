"""Report events (topic ``lis.report.events``)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from domains.shared.messages import Event


@dataclass(frozen=True, kw_only=True)
class ReportLine:
    """One verified result as printed on the report."""

    result_id: str
    loinc_code: str
    test_name: str
    value_text: str
    unit: str
    flag: str
    reference_text: str
    amended: bool = False


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
