"""Every published event class and the topic of each aggregate: the registry the Avro schema
generator, the outbox relay and the consumers share."""

from __future__ import annotations

from domains.notification.events import NotificationFailed, NotificationSent
from domains.order.events import OrderCancelled, OrderCompleted, OrderConfirmed, OrderCreated
from domains.patient.events import PatientCreated, PatientDeleted, PatientUpdated
from domains.payment.events import PaymentFailed, PaymentReceived
from domains.report.events import ReportDelivered, ReportGenerated, ReportSigned
from domains.result.events import (
    CriticalValueAcknowledged,
    CriticalValueDetected,
    CriticalValueEscalated,
    ResultAmended,
    ResultEntered,
    ResultVerified,
)
from domains.sample.events import SampleCollected, SampleReceived, SampleRejected, SampleRouted
from domains.shared.messages import Event

ALL_EVENTS: tuple[type[Event], ...] = (
    PatientCreated,
    PatientUpdated,
    PatientDeleted,
    OrderCreated,
    OrderConfirmed,
    OrderCancelled,
    OrderCompleted,
    SampleCollected,
    SampleReceived,
    SampleRejected,
    SampleRouted,
    ResultEntered,
    ResultVerified,
    ResultAmended,
    CriticalValueDetected,
    CriticalValueAcknowledged,
    CriticalValueEscalated,
    ReportGenerated,
    ReportSigned,
    ReportDelivered,
    PaymentReceived,
    PaymentFailed,
    NotificationSent,
    NotificationFailed,
)

TOPIC_BY_AGGREGATE: dict[str, str] = {
    "Patient": "lis.patient.events",
    "Order": "lis.order.events",
    "Sample": "lis.sample.events",
    "Result": "lis.result.events",
    "Report": "lis.report.events",
    "Payment": "lis.payment.events",
    "Notification": "lis.notification.events",
}

EVENT_BY_TYPE: dict[str, type[Event]] = {cls.event_type: cls for cls in ALL_EVENTS}


def topic_for(event: Event | type[Event]) -> str:
    return TOPIC_BY_AGGREGATE[event.aggregate_type]
