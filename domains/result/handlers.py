"""Result command handlers."""

from __future__ import annotations

from domains.catalog.model import Catalog
from domains.order.model import Order
from domains.patient.model import Patient
from domains.result.commands import (
    AcknowledgeCriticalValue,
    AmendResult,
    EnterResult,
    EscalateCriticalValue,
    InvalidateResult,
    VerifyResult,
)
from domains.result.model import Result, ResultContext
from domains.sample.model import Sample
from domains.shared.clock import Clock, local_date
from domains.shared.errors import Conflict, InvalidInput
from domains.shared.ids import new_id
from domains.shared.policy import PolicySource
from domains.shared.uow import AbstractUnitOfWork, Outcome


def enter_result(
    cmd: EnterResult,
    uow: AbstractUnitOfWork,
    *,
    catalog: Catalog,
    clock: Clock,
    policies: PolicySource,
) -> Outcome:
    test = catalog.get(cmd.loinc_code)
    sample = uow.repository(Sample).get(cmd.organization_id, cmd.sample_id)
    if cmd.loinc_code not in sample.loinc_codes:
        raise InvalidInput("loinc_code", f"{test.name} is not requested on this sample")
    results = uow.repository(Result)
    if results.find_by(cmd.organization_id, sample_id=sample.id, loinc_code=cmd.loinc_code):
        raise Conflict(f"{test.name} already has a result on {sample.accession_number}; amend it")
    order = uow.repository(Order).get(cmd.organization_id, sample.order_id)
    patient = uow.repository(Patient).get(cmd.organization_id, sample.patient_id)
    sample.check_accepts_results()
    order.check_accepts_results()
    context = ResultContext(
        order_id=order.id,
        sample_id=sample.id,
        patient_id=patient.id,
        accession_number=sample.accession_number,
        priority=order.priority,
        patient_sex=patient.demographics.sex,
        patient_date_of_birth=patient.demographics.date_of_birth,
        # age at collection is counted in the lab's calendar, not UTC's
        collected_on=local_date(sample.collected_at, policies.policy_for(cmd.organization_id).zone),
        ordering_provider_id=order.provider_id,
        ordering_clinician_name=order.clinician_name,
        placer_order_number=order.placer_order_number,
        mrn=order.mrn,
        collected_at=sample.collected_at,
    )
    result = Result.enter(
        id=new_id(),
        organization_id=cmd.organization_id,
        context=context,
        test=test,
        value_text=cmd.value_text,
        unit=cmd.unit,
        catalog_version=catalog.version,
        entered_by=cmd.user_id,
        now=clock.now(),
        censored_at_bound=policies.policy_for(cmd.organization_id).censored_at_bound,
        analyzer_id=cmd.analyzer_id,
        analyzed_at=cmd.analyzed_at,
    )
    results.add(result)
    return _outcome(result)


def verify_result(cmd: VerifyResult, uow: AbstractUnitOfWork, *, policies: PolicySource) -> Outcome:
    result = uow.repository(Result).get(cmd.organization_id, cmd.result_id)
    # a cancelled order must never gain a verified result (nobody will act on it)
    order = uow.repository(Order).get(cmd.organization_id, result.order_id)
    order.check_not_cancelled("verify a result")
    policy = policies.policy_for(cmd.organization_id)
    result.verify(cmd.user_id, allow_self_verification=policy.allow_self_verification)
    return _outcome(result)


def amend_result(
    cmd: AmendResult,
    uow: AbstractUnitOfWork,
    *,
    catalog: Catalog,
    clock: Clock,
    policies: PolicySource,
) -> Outcome:
    result = uow.repository(Result).get(cmd.organization_id, cmd.result_id)
    result.amend(
        test=catalog.get(result.loinc_code),
        value_text=cmd.value_text,
        unit=cmd.unit,
        reason=cmd.reason,
        amended_by=cmd.user_id,
        now=clock.now(),
        catalog_version=catalog.version,
        censored_at_bound=policies.policy_for(cmd.organization_id).censored_at_bound,
    )
    return _outcome(result)


def invalidate_result(cmd: InvalidateResult, uow: AbstractUnitOfWork, *, clock: Clock) -> Outcome:
    result = uow.repository(Result).get(cmd.organization_id, cmd.result_id)
    result.invalidate(
        reason_code=cmd.reason_code, reason_text=cmd.reason_text, by=cmd.user_id, now=clock.now()
    )
    return _outcome(result)


def acknowledge_critical_value(
    cmd: AcknowledgeCriticalValue, uow: AbstractUnitOfWork, *, clock: Clock
) -> Outcome:
    now = clock.now()
    when = cmd.acknowledged_at
    if when is not None and (when.tzinfo is None or when > now):
        raise InvalidInput("acknowledged_at", "must be timezone-aware and not in the future")
    result = uow.repository(Result).get(cmd.organization_id, cmd.result_id)
    result.acknowledge_critical(
        critical_id=cmd.critical_id,
        acknowledged_by=cmd.acknowledged_by,
        called_by=cmd.called_by,
        acknowledged_at=cmd.acknowledged_at or now,
        read_back_confirmed=cmd.read_back_confirmed,
    )
    return _outcome(result)


def escalate_critical_value(
    cmd: EscalateCriticalValue, uow: AbstractUnitOfWork, *, clock: Clock
) -> Outcome:
    result = uow.repository(Result).get(cmd.organization_id, cmd.result_id)
    result.escalate_critical(
        critical_id=cmd.critical_id, tier=cmd.tier, reason=cmd.reason, now=clock.now()
    )
    return _outcome(result)


def _outcome(result: Result) -> Outcome:
    return {
        "result_id": result.id,
        "status": result.status,
        "flag": result.interpretation.flag,
        "critical_ids": [e.critical_id for e in result.criticals],
    }
