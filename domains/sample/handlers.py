"""Sample command handlers."""

from __future__ import annotations

from domains.catalog.model import Catalog
from domains.order.model import Order
from domains.payment.model import Payment, check_paid_for_collection
from domains.result.model import Result
from domains.sample.commands import CollectSample, ReceiveSample, RejectSample, RouteSample
from domains.sample.model import Sample
from domains.sample.ports import AccessionSource
from domains.shared.clock import Clock, local_date
from domains.shared.errors import Conflict
from domains.shared.ids import new_id
from domains.shared.policy import PolicySource
from domains.shared.uow import AbstractUnitOfWork, Outcome


def collect_sample(
    cmd: CollectSample,
    uow: AbstractUnitOfWork,
    *,
    catalog: Catalog,
    accessions: AccessionSource,
    clock: Clock,
    policies: PolicySource,
) -> Outcome:
    order = uow.repository(Order).get(cmd.organization_id, cmd.order_id)
    samples = uow.repository(Sample)
    policy = policies.policy_for(cmd.organization_id)
    now = clock.now()
    if policy.collection_requires_payment:
        invoice = uow.repository(Payment).find_by(cmd.organization_id, order_id=order.id)
        check_paid_for_collection(order, invoice)

    def next_accession() -> str:
        # the lab's day: at 01:00 in Kolkata the tubes carry today's date, not UTC's yesterday
        accession = accessions.next_accession(cmd.organization_id, local_date(now, policy.zone))
        if samples.find_by(cmd.organization_id, accession_number=accession) is not None:
            raise Conflict(f"accession number {accession} is already in use")
        return accession

    sample = Sample.collect(
        id=new_id(),
        order=order,
        on_live_tubes=_on_live_tubes(uow, order),
        next_accession=next_accession,
        specimen_type=cmd.specimen_type,
        loinc_codes=cmd.loinc_codes,
        catalog=catalog,
        collected_at=cmd.collected_at or now,
        now=now,
        container=cmd.container,
        collected_by=cmd.collected_by,
    )
    samples.add(sample)
    return {
        "sample_id": sample.id,
        "accession_number": sample.accession_number,
        "loinc_codes": sample.loinc_codes,
    }


def _on_live_tubes(uow: AbstractUnitOfWork, order: Order) -> dict[str, str]:
    """Test -> accession number of the live tube it is on, for this order."""
    results = uow.repository(Result).list_by(order.organization_id, order_id=order.id)
    withdrawn = {(r.sample_id, r.loinc_code) for r in results if not r.is_live}
    return {
        code: tube.accession_number
        for tube in uow.repository(Sample).list_by(order.organization_id, order_id=order.id)
        if tube.is_live
        for code in tube.loinc_codes
        if (tube.id, code) not in withdrawn
    }


def receive_sample(cmd: ReceiveSample, uow: AbstractUnitOfWork, *, clock: Clock) -> Outcome:
    sample = uow.repository(Sample).get(cmd.organization_id, cmd.sample_id)
    now = clock.now()
    sample.receive(cmd.received_at or now, now=now)
    return {"sample_id": sample.id, "status": sample.status}


def reject_sample(cmd: RejectSample, uow: AbstractUnitOfWork) -> Outcome:
    # Locked before its results are listed: a result being entered meanwhile either committed
    # already (and is listed) or fails its check of the sample at commit. Without the lock it
    # could commit between our look and our commit: a rejected tube with a live result.
    sample = uow.repository(Sample).get_for_update(cmd.organization_id, cmd.sample_id)
    results = uow.repository(Result).list_by(cmd.organization_id, sample_id=sample.id)
    sample.reject(
        cmd.reason_code,
        reason_text=cmd.reason_text,
        recollection_required=cmd.recollection_required,
        # a withdrawn (invalidated) result no longer holds the tube back
        resulted_tests=[r.test_name for r in results if r.is_live],
    )
    return {"sample_id": sample.id, "status": sample.status}


def route_sample(cmd: RouteSample, uow: AbstractUnitOfWork) -> Outcome:
    sample = uow.repository(Sample).get(cmd.organization_id, cmd.sample_id)
    sample.route(cmd.department, cmd.bench)
    return {"sample_id": sample.id, "department": sample.department, "bench": sample.bench}
