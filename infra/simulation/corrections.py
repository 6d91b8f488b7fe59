"""A released report found wrong afterwards (issue 12), as planned (``VisitPlan.correction``):
a result amended (its report superseded by an amended version, signed and delivered again), or
a result withdrawn (invalidated; the pathologist amends the report to say so and signs it). The
processors deliver what is signed, as always."""

from __future__ import annotations

from domains.report.commands import AmendReport, SignReport
from domains.result.commands import InvalidateResult
from infra.simulation.context import VisitContext
from infra.simulation.reporting import amend_signed_report


def after_delivery(visit: VisitContext, order_id: str, result_ids: list[str]) -> None:
    correction = visit.plan.correction
    if correction is None or not result_ids:
        return
    s = visit.staff
    report_id = visit.lookout.report(visit.org, order_id)  # delivered already
    if correction == "amend":
        if not visit.plan.amend_after_sign:  # else reporting amended it already
            amend_signed_report(visit, order_id, report_id, result_ids[0])
        return
    critical = visit.plan.critical_loinc
    calm = [r for r in result_ids if visit.result_codes.get(r) != critical]
    visit.send(
        InvalidateResult,
        s.verifier,
        result_id=(calm or result_ids)[-1],
        reason_code="qc_failure",
        reason_text="the run's quality control failed after release; repeat requested",
    )
    visit.send(AmendReport, s.pathologist, order_id=order_id, reason="result withdrawn: QC failure")
    visit.send(SignReport, s.pathologist, report_id=report_id, pathologist_name=s.pathologist)
