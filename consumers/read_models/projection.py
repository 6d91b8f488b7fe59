"""How each event lands in the read models (``keys``): event class -> operations (``ops``).

Projectors read the decoded Avro record (the fields of the event class, ``metadata`` included)
rather than a typed envelope: the record is what the consumer already holds, and building
dataclasses for every event would cost more than the rest of the projection. Fields added to a
schema later are read with ``.get`` (an older writer's record lacks them).

Each projector (``project_orders``, ``project_samples``, ``project_results``) splits what it
writes into facts (``"s"`` operations: never change once they exist) and fields that change over
the aggregate's life (``"h"``, compared by version), and hands over values already as the
strings the hashes hold (``ops.text`` only where a type varies): this runs for every event the
lab produces, so it is written to do little.
"""

from __future__ import annotations

from collections.abc import Callable

from consumers.read_models import project_orders as orders
from consumers.read_models import project_results as results
from consumers.read_models import project_samples as samples
from consumers.read_models.ops import Op
from consumers.read_models.writes import Record
from domains.order import events as order_ev
from domains.patient import events as patient_ev
from domains.report import events as report_ev
from domains.result import events as result_ev
from domains.sample import events as sample_ev
from domains.shared.messages import Event
from schemas.catalog import event_classes

Projector = Callable[[Record, Record], list[Op]]  # (metadata, record) -> operations

# The aggregates whose topics the read models are built from.
AGGREGATES = ("Patient", "Order", "Sample", "Result", "Report")


class ProjectionError(Exception):
    """The record does not carry what its event type promises: a poison message."""


def project(schema_name: str, record: Record) -> list[Op]:
    """The operations for one decoded event; [] for an event the read models ignore."""
    cls = event_classes().get(schema_name)
    projector = PROJECTORS.get(cls) if cls is not None else None
    if projector is None:
        return []
    try:
        return projector(record["metadata"], record)
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise ProjectionError(f"{schema_name} cannot be projected: {exc!r}") from exc


PROJECTORS: dict[type[Event], Projector] = {
    patient_ev.PatientCreated: orders.patient_state,
    patient_ev.PatientUpdated: orders.patient_state,
    patient_ev.PatientDeleted: orders.patient_deleted,
    order_ev.OrderCreated: orders.order_created,
    order_ev.OrderConfirmed: orders.order_confirmed,
    order_ev.OrderCancelled: orders.order_cancelled,
    order_ev.OrderCompleted: orders.order_completed,
    sample_ev.SampleCollected: samples.sample_collected,
    sample_ev.SampleReceived: samples.sample_received,
    sample_ev.SampleRejected: samples.sample_rejected,
    sample_ev.SampleRouted: samples.sample_routed,
    result_ev.ResultEntered: results.result_entered,
    result_ev.ResultVerified: results.result_verified,
    result_ev.ResultAmended: results.result_amended,
    result_ev.ResultInvalidated: results.result_invalidated,
    result_ev.ResultReinterpreted: results.result_reinterpreted,
    result_ev.CriticalValueDetected: results.critical_detected,
    result_ev.CriticalValueAcknowledged: results.critical_acknowledged,
    result_ev.CriticalValueEscalated: results.critical_escalated,
    report_ev.ReportGenerated: orders.report_generated,
    report_ev.ReportSigned: orders.report_signed,
    report_ev.ReportDelivered: orders.report_delivered,
}
