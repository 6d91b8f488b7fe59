"""Reporting: a completed order gets its report; a signed report goes to its recipients.

ORDER_COMPLETED -> GenerateReport (the domain answers a second one with the existing report).
CRITICAL_VALUE_ACKNOWLEDGED -> GenerateReport, when the order is completed and has no report
yet: no report is made while a critical value's call is undocumented, so the one refused at
completion is made once the read-back is recorded.
REPORT_SIGNED -> DeliverReport of that version, if it is still the report's current one (a newer
version awaits its own signature and delivery).

Recipients come from the order and the patient, read through the unit of work (``Deps``): the
events carry contacts masked only, and a report cannot be sent to a masked address. The
ordering clinician always gets it (by email or SMS when the order names a contact, else on the
portal); the patient too, unless deleted (SMS to the registered mobile, else email, else a
printed copy at the desk). Destinations travel in the command only (never in an event or a log:
the REPORT_DELIVERED events carry them masked).
"""

from __future__ import annotations

from consumers.processors.base import Deps, Processor, command_for
from domains.order.events import OrderCompleted
from domains.order.model import Order
from domains.patient.model import Patient
from domains.report.commands import DeliverReport, GenerateReport, Recipient
from domains.report.events import ReportSigned
from domains.report.model import Report
from domains.result.events import CriticalValueAcknowledged
from domains.shared.messages import Command, EventEnvelope

NAME = "reporting"


def processor(deps: Deps) -> Processor:
    def on_completed(envelope: EventEnvelope) -> list[Command]:
        event = envelope.event
        assert isinstance(event, OrderCompleted)
        return [command_for(NAME, envelope, GenerateReport, order_id=event.order_id)]

    def on_acknowledged(envelope: EventEnvelope) -> list[Command]:
        event = envelope.event
        assert isinstance(event, CriticalValueAcknowledged)
        org = envelope.metadata.organization_id
        with deps.uow_factory() as uow:
            order = uow.repository(Order).get(org, event.order_id)
            reported = uow.repository(Report).find_by(org, order_id=order.id) is not None
        if order.status != "completed" or reported:
            return []
        return [command_for(NAME, envelope, GenerateReport, order_id=order.id)]

    def on_signed(envelope: EventEnvelope) -> list[Command]:
        event = envelope.event
        assert isinstance(event, ReportSigned)
        org = envelope.metadata.organization_id
        with deps.uow_factory() as uow:
            report = uow.repository(Report).get(org, event.report_id)
            order = uow.repository(Order).get(org, report.order_id)
            patient = uow.repository(Patient).get(org, order.patient_id)
        if report.current.report_version != event.report_version:
            return []
        to = recipients(order, patient)
        return [command_for(NAME, envelope, DeliverReport, report_id=report.id, recipients=to)]

    return Processor(
        NAME,
        {
            OrderCompleted: on_completed,
            CriticalValueAcknowledged: on_acknowledged,
            ReportSigned: on_signed,
        },
    )


def recipients(order: Order, patient: Patient) -> list[Recipient]:
    contact = order.clinician_contact
    clinician = Recipient(
        role="ordering_clinician",
        name=order.clinician_name,
        channel=("email" if "@" in contact else "sms") if contact else "portal",
        destination=contact,
    )
    if patient.is_deleted:
        return [clinician]
    d = patient.demographics
    channel, destination = ("sms", d.mobile) if d.mobile else ("email", d.email)
    if destination is None:
        channel = "print"
    whom = Recipient(
        role="patient", name=f"patient {patient.mrn}", channel=channel, destination=destination
    )
    return [clinician, whom]
