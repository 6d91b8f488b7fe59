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
    # An HIS retrying its HL7/FHIR message must not create a second order. A different body
    # under the same number is not a retry: answering it with the first order would silently
    # drop what changed (a routine order re-sent as STAT would stay routine).
    if order.patient_id != cmd.patient_id:
        raise Conflict(
            f"placer order number {order.placer_order_number} belongs to another patient"
        )
    differences = order.differences(
        patient_id=cmd.patient_id,
        loinc_codes=cmd.loinc_codes,
        priority=cmd.priority,
        clinician_name=cmd.ordering_clinician_name,
        clinician_contact=cmd.ordering_clinician_contact,
        clinical_notes=cmd.clinical_notes,
    )
    if differences:
        raise Conflict(
            f"placer order number {order.placer_order_number} was already placed with another "
            f"{', '.join(differences)}; change the order itself or use a new placer number"
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
        cmd.reason,
        verified_loinc_codes={r.loinc_code for r in results if r.has_been_verified},
        uncalled_critical_tests=[r.test_name for r in results if r.open_critical is not None],
    )
    return {"order_id": order.id, "status": order.status}


def complete_order(cmd: CompleteOrder, uow: AbstractUnitOfWork) -> Outcome:
    order = uow.repository(Order).get(cmd.organization_id, cmd.order_id)
    order.complete(_verified_results(uow, order))
    return {"order_id": order.id, "status": order.status}


def _verified_results(uow: AbstractUnitOfWork, order: Order) -> dict[str, str]:
    """loinc code -> id of its result whose current value is verified, for this order (an
    amendment awaiting verification does not count, nor a withdrawn one). Two live results
    for one test are refused: keeping one would silently drop the other."""
    results = uow.repository(Result).list_by(order.organization_id, order_id=order.id)
    live: dict[str, list[Result]] = {}
    for r in results:
        if r.is_live:
            live.setdefault(r.loinc_code, []).append(r)
    doubled = sorted(r[0].test_name for r in live.values() if len(r) > 1)
    if doubled:
        raise Conflict(
            f"order {order.placer_order_number} has two live results for "
            f"{', '.join(doubled)}; invalidate the one that must not count"
        )
    return {code: rs[0].id for code, rs in live.items() if rs[0].is_verified}
