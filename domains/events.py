"""Every published event class: the catalogue the Avro schema generator, the codec, the topic
list and the consumers share. Topic names are not the domain's business: ``producers.topics``."""

from __future__ import annotations

from domains.notification.events import NotificationFailed, NotificationSent
from domains.order.events import OrderCancelled, OrderCompleted, OrderConfirmed, OrderCreated
from domains.patient.events import PatientCreated, PatientDeleted, PatientUpdated
from domains.payment.events import (
    InvoiceCancelled,
    InvoiceRaised,
    PaymentFailed,
    PaymentReceived,
    PaymentRefunded,
)
from domains.report.events import ReportDelivered, ReportGenerated, ReportSigned
from domains.result.events import (
    CriticalValueAcknowledged,
    CriticalValueDetected,
    CriticalValueEscalated,
    ResultAmended,
    ResultEntered,
    ResultInvalidated,
    ResultReinterpreted,
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
    ResultInvalidated,
    ResultReinterpreted,
    ReportGenerated,
    ReportSigned,
    ReportDelivered,
    PaymentReceived,
    PaymentFailed,
    InvoiceRaised,
    PaymentRefunded,
    InvoiceCancelled,
    NotificationSent,
    NotificationFailed,
)

EVENT_BY_TYPE: dict[str, type[Event]] = {cls.event_type: cls for cls in ALL_EVENTS}
