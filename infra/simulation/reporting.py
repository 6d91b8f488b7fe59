"""The end of a visit: the pathologist signs the report the processors generated (they deliver
it), and now and then a signed report turns out wrong: the result is amended, verified again by
a second person, and the amended version the processors generate is signed in turn."""

from __future__ import annotations

from domains.report.commands import SignReport
from domains.result.commands import AmendResult, VerifyResult
from infra.simulation.context import VisitContext
from infra.simulation.values import reading


def sign_report(visit: VisitContext, order_id: str, result_ids: list[str]) -> None:
    s = visit.staff
    report_id = visit.lookout.report(visit.org, order_id)  # in the pathologist's queue
    visit.send(SignReport, s.pathologist, report_id=report_id, pathologist_name=s.pathologist)
    if visit.plan.amend_after_sign and result_ids:
        visit.lookout.delivered(visit.org, report_id, version=1)  # the ward calls about it
        amend_signed_report(visit, order_id, report_id, result_ids[0])


def amend_signed_report(visit: VisitContext, order_id: str, report_id: str, result_id: str) -> None:
    """A signed report turns out wrong: amend the result and have a second person verify the
    new value; the processors issue the amended report, which the pathologist signs."""
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
    visit.lookout.report(visit.org, order_id, version=2)
    visit.send(SignReport, s.pathologist, report_id=report_id, pathologist_name=s.pathologist)
