"""OML^O21 / ORM^O01 from a hospital system -> (RegisterPatient) + PlaceOrder + ConfirmOrder.

The patient is ours by MRN (a PID-3 identifier whose assigning authority is our organization),
or by a hospital identifier linked to one of our patients by an earlier message, or is
registered from PID-5/7/8/13 (never merged on demographics alone: a likely duplicate is
answered AE with the MRN to send instead). Each ORC with its OBRs is one order, keyed by the
placer group number (ORC-4; else the placer order number, ORC-2): in v2.5.1 each ORC carries
one test (its OBR), and the tests of one requisition share the group number. A resent number
returns the order already placed. Only new orders (ORC-1 NW) are taken.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field

from domains.order.commands import ConfirmOrder, PlaceOrder
from domains.patient.commands import RegisterPatient
from domains.patient.identifiers import check_mrn
from domains.patient.model import Demographics, DuplicatePatient
from domains.shared.contacts import normalize_contact
from domains.shared.errors import (
    ConcurrencyConflict,
    DomainError,
    IllegalTransition,
    InvalidInput,
)
from domains.shared.messages import Command
from domains.shared.uow import Outcome
from infra.hl7.er7 import Hl7Error, Seg, parse_date
from infra.hl7.inbound import Inbound, Services

SEXES = {"M": "male", "F": "female", "O": "other", "U": "unknown", "A": "other", "N": "unknown"}
PRIORITIES = {"S": "stat", "A": "urgent", "R": "routine", "P": "routine", "T": "routine"}
# a domain field refused by a command -> where it came from in the message
_WHERE = {
    "family_name": ("PID", 5),
    "given_name": ("PID", 5),
    "date_of_birth": ("PID", 7),
    "sex": ("PID", 8),
    "mobile": ("PID", 13),
    "placer_order_number": ("ORC", 2),
    "priority": ("TQ1", 9),
    "loinc_codes": ("OBR", 4),
    "ordering_clinician_name": ("ORC", 12),
    "ordering_clinician_contact": ("ORC", 14),
}


@dataclass
class PatientPart:
    mrn: str | None
    links: list[tuple[str, str]]  # (assigning authority, identifier) of other systems
    family_name: str
    given_name: str
    date_of_birth_text: str
    sex: str
    mobile: str | None


@dataclass
class OrderPart:
    placer: str
    clinician: str = ""
    contact: str | None = None
    priority: str = "routine"
    loinc_codes: list[str] = field(default_factory=list)


def place_orders(services: Services, message: Inbound) -> str:
    patient = _patient(message)
    orders = _orders(services, message)
    _precheck(services, patient, orders)
    patient_id = _known_patient(services, message, patient)
    for order in orders:  # an order number may not move to another patient
        owner = services.store.order_patient(message.organization_id, order.placer)
        if owner is not None and owner != patient_id:
            raise Hl7Error("ORC", 2, f"order {order.placer} belongs to another patient", "205")
    if patient_id is None:
        patient_id = _register(services, message, patient)
    services.store.link_patient(message.organization_id, patient.links, patient_id)
    placed = []
    for order in orders:
        outcome = _send(services, message.command(
            PlaceOrder, f"order:{order.placer}", patient_id=patient_id,
            placer_order_number=order.placer, loinc_codes=order.loinc_codes,
            priority=order.priority, ordering_clinician_name=order.clinician,
            ordering_clinician_contact=order.contact,
        ))  # fmt: skip
        # placed and confirmed already by an earlier message with this order number: fine
        with suppress(IllegalTransition):
            _send(services, message.command(
                ConfirmOrder, f"confirm:{order.placer}", order_id=outcome["order_id"]
            ))  # fmt: skip
        placed.append(order.placer)
    return f"orders accepted: {', '.join(placed)}"


def _patient(message: Inbound) -> PatientPart:
    pids = message.all("PID")
    if len(pids) != 1:
        raise Hl7Error("PID", 0, "exactly one patient per message", "100")
    pid = pids[0]
    mrn, links = None, []
    for rep in range(pid.repetitions(3)):
        identifier, authority = pid.get(3, 1, rep), pid.get(3, 4, rep)
        if not identifier:
            continue
        if authority == message.organization_id:
            try:
                mrn = check_mrn(identifier)
            except InvalidInput as exc:
                raise Hl7Error("PID", 3, f"our MRN {exc.reason}", "102") from None
        elif authority:
            links.append((authority[:64], identifier[:64]))
    if mrn is None and not links:
        raise Hl7Error("PID", 3, "a patient identifier with its assigning authority", "101")
    sex = SEXES.get(pid.get(8))
    if sex is None:
        raise Hl7Error("PID", 8, "administrative sex must be one of M F O U A N", "103")
    return PatientPart(
        mrn=mrn,
        links=links,
        family_name=pid.required(5, "family name"),
        given_name=pid.required(5, "given name", component=2),
        date_of_birth_text=pid.required(7, "date of birth"),
        sex=sex,
        mobile=pid.get(13, 12) or pid.get(13, 1) or None,
    )


def _orders(services: Services, message: Inbound) -> list[OrderPart]:
    orders: dict[str, OrderPart] = {}
    current: OrderPart | None = None
    line_number = ""
    for seg in message.segments:
        if seg.name == "ORC":
            if seg.get(1) != "NW":
                raise Hl7Error("ORC", 1, "only new orders (NW) are accepted", "103")
            line_number = seg.required(2, "placer order number")
            placer = seg.get(4) or line_number
            if len(placer) > 64:
                raise Hl7Error("ORC", 4, "placer group number longer than 64", "102")
            current = orders.setdefault(placer, OrderPart(placer=placer))
            current.clinician = current.clinician or _clinician(seg, 12)
            contact = seg.get(14, 12) or seg.get(14, 4) or seg.get(14, 1)
            current.contact = current.contact or contact or None
            if seg.get(7, 6):
                current.priority = PRIORITIES.get(seg.get(7, 6), "routine")
        elif seg.name == "TQ1" and current is not None and seg.get(9):
            priority = PRIORITIES.get(seg.get(9))
            if priority is None:
                raise Hl7Error("TQ1", 9, "priority must be one of S A R P T", "103")
            current.priority = priority
        elif seg.name == "OBR":
            if current is None:
                raise Hl7Error("OBR", 0, "an OBR needs its ORC", "100")
            _test(services, seg, current, line_number)
    if not orders:
        raise Hl7Error("ORC", 0, "no order in the message", "101")
    for order in orders.values():
        if not order.loinc_codes:
            raise Hl7Error("OBR", 4, f"order {order.placer} names no test", "101")
    return list(orders.values())


def _test(services: Services, obr: Seg, order: OrderPart, line_number: str) -> None:
    if obr.get(2) and obr.get(2) != line_number:
        raise Hl7Error("OBR", 2, "placer order number differs from its ORC-2", "102")
    code, system = obr.required(4, "universal service identifier"), obr.get(4, 3)
    if system != "LN":
        raise Hl7Error("OBR", 4, "tests are ordered by LOINC code (coding system LN)", "103")
    if code not in services.catalog:
        raise Hl7Error("OBR", 4, f"unknown test {code} in catalog", "103")
    if code in order.loinc_codes:
        raise Hl7Error("OBR", 4, f"test {code} ordered twice", "205")
    order.loinc_codes.append(code)
    if not order.clinician:
        order.clinician = _clinician(obr, 16)
    if order.priority == "routine" and obr.get(27, 6):
        order.priority = PRIORITIES.get(obr.get(27, 6), "routine")


def _clinician(seg: Seg, n: int) -> str:
    family, given, prefix = seg.get(n, 2), seg.get(n, 3), seg.get(n, 6)
    return " ".join(part for part in (prefix, given, family) if part)


def _known_patient(services: Services, message: Inbound, patient: PatientPart) -> str | None:
    org, store = message.organization_id, services.store
    if patient.mrn is not None:
        found = store.patient_by_mrn(org, patient.mrn)
        if found is None:
            raise Hl7Error("PID", 3, f"no patient with MRN {patient.mrn}", "204")
        return found
    for authority, identifier in patient.links:
        found = store.patient_by_link(org, authority, identifier)
        if found is not None:
            return found
    return None


def _register(services: Services, message: Inbound, patient: PatientPart) -> str:
    try:
        outcome = _send(services, message.command(
            RegisterPatient, "patient", family_name=patient.family_name,
            given_name=patient.given_name,
            date_of_birth=parse_date(patient.date_of_birth_text, "PID", 7),
            sex=patient.sex, mobile=patient.mobile,
        ))  # fmt: skip
    except DuplicatePatient as exc:
        reason = f"likely registered already as MRN {exc.existing_mrn}: send that MRN in PID-3"
        raise Hl7Error("PID", 3, reason, "205") from None
    return str(outcome["patient_id"])


def _precheck(services: Services, patient: PatientPart, orders: list[OrderPart]) -> None:
    """What the commands would refuse, refused before the first of them writes anything."""
    with _located():
        Demographics.validated(
            family_name=patient.family_name, given_name=patient.given_name,
            date_of_birth=parse_date(patient.date_of_birth_text, "PID", 7), sex=patient.sex,
            mobile=patient.mobile, email=None, today=services.clock.today(),
        )  # fmt: skip
        for order in orders:
            if not order.clinician:
                raise InvalidInput("ordering_clinician_name", "the ordering provider is required")
            if order.contact:
                normalize_contact(order.contact, field="ordering_clinician_contact")


@contextmanager
def _located() -> Iterator[None]:
    """A field a command refuses is reported where the message carried it."""
    try:
        yield
    except InvalidInput as exc:
        segment, n = _WHERE.get(exc.field, ("MSH", 0))
        raise Hl7Error(segment, n, exc.reason, "102") from None


def _send(services: Services, command: Command) -> Outcome:
    with _located():
        try:
            return services.send(command)
        except (DuplicatePatient, IllegalTransition, ConcurrencyConflict):
            raise  # (a race still lost after the retries: an unrecorded AE, resent later)
        except DomainError as exc:
            raise Hl7Error("ORC", 2, str(exc), "207") from None
