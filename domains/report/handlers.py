"""Report command handlers."""

from __future__ import annotations

from domains.order.model import Order
from domains.patient.model import Patient
from domains.report.commands import AmendReport, DeliverReport, GenerateReport, SignReport
from domains.report.model import Report
from domains.report.rendering import Letterhead
from domains.result.model import Result
from domains.sample.model import Sample
from domains.shared.clock import Clock
from domains.shared.errors import NotFound
from domains.shared.ids import new_id
from domains.shared.policy import PolicySource
from domains.shared.uow import AbstractUnitOfWork, Outcome


def generate_report(
    cmd: GenerateReport, uow: AbstractUnitOfWork, *, clock: Clock, policies: PolicySource
) -> Outcome:
    reports = uow.repository(Report)
    existing = reports.find_by(cmd.organization_id, order_id=cmd.order_id)
    if existing is not None:
        return _outcome(existing, created=False)
    order, patient, results, samples = _sources(uow, cmd.organization_id, cmd.order_id)
    report = Report.generate(
        id=new_id(),
        order=order,
        patient=patient,
        results=results,
        samples=samples,
        letterhead=_letterhead(policies, cmd.organization_id),
        now=clock.now(),
    )
    reports.add(report)
    return _outcome(report, created=True)


def amend_report(
    cmd: AmendReport, uow: AbstractUnitOfWork, *, clock: Clock, policies: PolicySource
) -> Outcome:
    report = uow.repository(Report).find_by(cmd.organization_id, order_id=cmd.order_id)
    if report is None:
        raise NotFound("Report", f"for order {cmd.order_id}")
    order, patient, results, samples = _sources(uow, cmd.organization_id, cmd.order_id)
    report.amend(
        order=order,
        patient=patient,
        results=results,
        samples=samples,
        letterhead=_letterhead(policies, cmd.organization_id),
        reason=cmd.reason,
        now=clock.now(),
    )
    return _outcome(report, created=False)


def sign_report(cmd: SignReport, uow: AbstractUnitOfWork, *, clock: Clock) -> Outcome:
    report = uow.repository(Report).get(cmd.organization_id, cmd.report_id)
    report.sign(
        cmd.pathologist_name, clock.now(), user_id=cmd.user_id, results=_results(uow, report)
    )
    return _outcome(report, created=False)


def deliver_report(cmd: DeliverReport, uow: AbstractUnitOfWork, *, clock: Clock) -> Outcome:
    report = uow.repository(Report).get(cmd.organization_id, cmd.report_id)
    report.deliver(
        [(r.role, r.name, r.channel, r.destination) for r in cmd.recipients],
        clock.now(),
        results=_results(uow, report),
    )
    return _outcome(report, created=False)


def _results(uow: AbstractUnitOfWork, report: Report) -> list[Result]:
    """The order's results as they are now (held unchanged until the commit)."""
    return uow.repository(Result).list_by(report.organization_id, order_id=report.order_id)


def _letterhead(policies: PolicySource, organization_id: str) -> Letterhead:
    policy = policies.policy_for(organization_id)
    return Letterhead(
        organization_id=organization_id,
        lab_name=policy.lab_name,
        lab_address=policy.lab_address,
        zone=policy.zone,
    )


def _sources(
    uow: AbstractUnitOfWork, organization_id: str, order_id: str
) -> tuple[Order, Patient, list[Result], list[Sample]]:
    order = uow.repository(Order).get(organization_id, order_id)
    patient = uow.repository(Patient).get(organization_id, order.patient_id)
    results = uow.repository(Result).list_by(organization_id, order_id=order_id)
    samples = uow.repository(Sample).list_by(organization_id, order_id=order_id)
    return order, patient, results, samples


def _outcome(report: Report, *, created: bool) -> Outcome:
    return {
        "report_id": report.id,
        "order_id": report.order_id,
        "report_version": report.current.report_version,
        "status": report.status,
        "created": created,
    }
