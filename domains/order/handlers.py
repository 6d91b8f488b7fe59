"""Order command handlers."""

from __future__ import annotations

from domains.catalog.model import Catalog
from domains.order.commands import CancelOrder, CompleteOrder, ConfirmOrder, PlaceOrder
from domains.order.model import Order
from domains.patient.model import Patient
from domains.result.model import Result
from domains.shared.errors import Conflict, InvalidInput
from domains.shared.ids import new_id
from domains.shared.uow import AbstractUnitOfWork, Outcome


def place_order(cmd: PlaceOrder, uow: AbstractUnitOfWork, *, catalog: Catalog) -> Outcome:
    tests = [catalog.get(code, field="loinc_codes") for code in cmd.loinc_codes]
    orders = uow.repository(Order)
    placer = cmd.placer_order_number.strip()
    if not placer:
        raise InvalidInput("placer_order_number", "is required")
    existing = orders.find_by(cmd.organization_id, placer_order_number=placer)
    if existing is not None:
        return _already_placed(existing, cmd)
    patient = uow.repository(Patient).get(cmd.organization_id, cmd.patient_id)
    order = Order.place(
        id=new_id(),
        patient=patient,
        placer_order_number=placer,
        priority=cmd.priority,
        tests=tests,
        clinician_name=cmd.ordering_clinician_name,
        clinician_contact=cmd.ordering_clinician_contact,
        catalog_version=catalog.version,
        clinical_notes=cmd.clinical_notes,
        provider_id=cmd.ordering_provider_id,
    )
    orders.add(order)
    return {"order_id": order.id, "placer_order_number": placer, "created": True}


def _already_placed(order: Order, cmd: PlaceOrder) -> Outcome:
    # An HIS retrying its HL7/FHIR message must not create a second order; a different
    # patient under the same number is a real clash, not a retry.
    if order.patient_id != cmd.patient_id:
        raise Conflict(
            f"placer order number {order.placer_order_number} belongs to another patient"
        )
    return {
        "order_id": order.id,
        "placer_order_number": order.placer_order_number,
        "created": False,
    }


def confirm_order(cmd: ConfirmOrder, uow: AbstractUnitOfWork) -> Outcome:
    order = uow.repository(Order).get(cmd.organization_id, cmd.order_id)
    order.confirm()
    return {"order_id": order.id, "status": order.status}


def cancel_order(cmd: CancelOrder, uow: AbstractUnitOfWork) -> Outcome:
    order = uow.repository(Order).get(cmd.organization_id, cmd.order_id)
    results = uow.repository(Result).list_by(order.organization_id, order_id=order.id)
    # a value released once (even if now amended and awaiting re-verification) may have been
    # acted on: such an order is corrected by amendment, never silently cancelled
    order.cancel(
        cmd.reason, verified_loinc_codes={r.loinc_code for r in results if r.has_been_verified}
    )
    return {"order_id": order.id, "status": order.status}


def complete_order(cmd: CompleteOrder, uow: AbstractUnitOfWork) -> Outcome:
    order = uow.repository(Order).get(cmd.organization_id, cmd.order_id)
    order.complete(_verified_results(uow, order))
    return {"order_id": order.id, "status": order.status}


def _verified_results(uow: AbstractUnitOfWork, order: Order) -> dict[str, str]:
    """loinc code -> id of its result whose current value is verified, for this order (an
    amendment awaiting verification does not count)."""
    results = uow.repository(Result).list_by(order.organization_id, order_id=order.id)
    return {r.loinc_code: r.id for r in results if r.is_verified}
