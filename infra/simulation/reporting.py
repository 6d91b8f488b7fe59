"""The end of a visit: the report generated, signed and delivered, and now and then a signed
report found wrong, amended and re-issued."""

from __future__ import annotations

from domains.report.commands import (
    AmendReport,
    DeliverReport,
    GenerateReport,
    Recipient,
    SignReport,
)
from domains.result.commands import AmendResult, VerifyResult
from infra.simulation.context import VisitContext
from infra.simulation.values import reading


def deliver_report(visit: VisitContext, order_id: str, result_ids: list[str]) -> None:
    s = visit.staff
    report_id = visit.send(GenerateReport, s.pathologist, order_id=order_id)["report_id"]
    visit.send(SignReport, s.pathologist, report_id=report_id, pathologist_name=s.pathologist)
    recipients = [
        Recipient(
            role="patient", name="patient", channel="sms", destination=visit.plan.patient.mobile
        ),
        Recipient(role="ordering_clinician", name="clinician", channel="portal"),
    ]
    visit.send(DeliverReport, s.pathologist, report_id=report_id, recipients=recipients)
    if visit.plan.amend_after_sign and result_ids:
        amend_signed_report(visit, order_id, report_id, result_ids[0])


def amend_signed_report(visit: VisitContext, order_id: str, report_id: str, result_id: str) -> None:
    """A signed report turns out wrong: amend the result, have a second person verify the
    new value, then re-issue, re-sign and re-deliver the report."""
    s, p = visit.staff, visit.plan.patient
    code = visit.result_codes[result_id]
    test = visit.catalog.get(code)
    value = reading(
        visit.rng, test, sex=p.sex, date_of_birth=p.date_of_birth, on=visit.today, critical=False
    )
    visit.send(
        AmendResult,
        s.technologist,
        result_id=result_id,
        value_text=value,
        unit=test.unit or None,
        reason="transcription error corrected after ward call",
    )
    visit.send(VerifyResult, s.verifier, result_id=result_id)
    visit.send(
        AmendReport, s.pathologist, order_id=order_id, reason="result amended after sign-off"
    )
    visit.send(SignReport, s.pathologist, report_id=report_id, pathologist_name=s.pathologist)
    visit.send(
        DeliverReport,
        s.pathologist,
        report_id=report_id,
        recipients=[Recipient(role="ordering_clinician", name="clinician", channel="portal")],
    )
