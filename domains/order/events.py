"""Order events (topic ``lis.order.events``)."""

from __future__ import annotations

from dataclasses import dataclass, field

from domains.shared.messages import Event


@dataclass(frozen=True, kw_only=True)
class OrderedTest:
    """One ordered test as the catalog described it when the order was placed."""

    loinc_code: str
    name: str
    specimen_type: str
    container: str
    department: str
    bench: str


@dataclass(frozen=True, kw_only=True)
class OrderCreated(Event):
    event_type = "ORDER_CREATED"
    aggregate_type = "Order"

    order_id: str
    patient_id: str
    mrn: str
    placer_order_number: str
    priority: str  # routine | urgent | stat
    tests: list[OrderedTest]
    ordering_clinician_name: str
    catalog_version: str
    ordering_clinician_contact_masked: str | None = None
    clinical_notes: str | None = None
    ordering_provider_id: str | None = None  # the provider directory's id of the clinician


@dataclass(frozen=True, kw_only=True)
class OrderConfirmed(Event):
    event_type = "ORDER_CONFIRMED"
    aggregate_type = "Order"

    order_id: str
    patient_id: str
    placer_order_number: str
    priority: str
    loinc_codes: list[str] = field(default_factory=list)


@dataclass(frozen=True, kw_only=True)
class OrderCancelled(Event):
    event_type = "ORDER_CANCELLED"
    aggregate_type = "Order"

    order_id: str
    patient_id: str
    placer_order_number: str
    reason: str


@dataclass(frozen=True, kw_only=True)
class OrderCompleted(Event):
    event_type = "ORDER_COMPLETED"
    aggregate_type = "Order"

    order_id: str
    patient_id: str
    placer_order_number: str
    result_ids: list[str] = field(default_factory=list)
