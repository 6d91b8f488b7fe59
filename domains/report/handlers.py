"""Report command handlers."""

from __future__ import annotations

from domains.order.model import Order
from domains.patient.model import Patient
from domains.report.commands import AmendReport, DeliverReport, GenerateReport, SignReport
from domains.report.model import Report
from domains.result.model import Result
from domains.shared.clock import Clock
from domains.shared.errors import NotFound
from domains.shared.ids import new_id
from domains.shared.uow import AbstractUnitOfWork, Outcome


def generate_report(cmd: GenerateReport, uow: AbstractUnitOfWork, *, clock: Clock) -> Outcome:
    reports = uow.repository(Report)
    existing = reports.find_by(cmd.organization_id, order_id=cmd.order_id)
    if existing is not None:
        return _outcome(existing, created=False)
    order, patient, results = _sources(uow, cmd.organization_id, cmd.order_id)
    report = Report.generate(
        id=new_id(), order=order, patient=patient, results=results, now=clock.now()
    )
    reports.add(report)
    return _outcome(report, created=True)


def amend_report(cmd: AmendReport, uow: AbstractUnitOfWork, *, clock: Clock) -> Outcome:
    report = uow.repository(Report).find_by(cmd.organization_id, order_id=cmd.order_id)
    if report is None:
        raise NotFound("Report", f"for order {cmd.order_id}")
    order, patient, results = _sources(uow, cmd.organization_id, cmd.order_id)
    report.amend(order=order, patient=patient, results=results, reason=cmd.reason, now=clock.now())
    return _outcome(report, created=False)


def sign_report(cmd: SignReport, uow: AbstractUnitOfWork, *, clock: Clock) -> Outcome:
    report = uow.repository(Report).get(cmd.organization_id, cmd.report_id)
    report.sign(cmd.pathologist_name, clock.now(), user_id=cmd.user_id)
    return _outcome(report, created=False)


def deliver_report(cmd: DeliverReport, uow: AbstractUnitOfWork, *, clock: Clock) -> Outcome:
    report = uow.repository(Report).get(cmd.organization_id, cmd.report_id)
    report.deliver(
        [(r.role, r.name, r.channel, r.destination) for r in cmd.recipients], clock.now()
    )
    return _outcome(report, created=False)


def _sources(
    uow: AbstractUnitOfWork, organization_id: str, order_id: str
) -> tuple[Order, Patient, list[Result]]:
    order = uow.repository(Order).get(organization_id, order_id)
    patient = uow.repository(Patient).get(organization_id, order.patient_id)
    results = uow.repository(Result).list_by(organization_id, order_id=order_id)
    return order, patient, results


def _outcome(report: Report, *, created: bool) -> Outcome:
    return {
        "report_id": report.id,
        "order_id": report.order_id,
        "report_version": report.current.report_version,
        "status": report.status,
        "created": created,
    }
