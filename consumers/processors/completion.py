"""Completion: an order is complete once every ordered test has a verified current value, and a
reported order gets an amended report when a value on it changes afterwards.

RESULT_VERIFIED, if the verified value is still the result's current one (a later event of the
result otherwise tells its state), then, by the order's state:

- confirmed, and every ordered test verified: CompleteOrder (several results verified at once
  may each see the last one: the second CompleteOrder is refused, counted, harmless);
- completed, no report yet, and this value was corrected after release (so the report's
  generation may have been refused while it awaited verification): GenerateReport, which now
  takes the verified value (a report being generated anyway is returned, not doubled);
- completed, and the report's current version does not show this value: AmendReport, a new
  version for the pathologist to sign (the domain refuses to sign or deliver a stale one).

State is read through the unit of work (``Deps``), in a transaction of its own; the command's
own transaction re-checks everything, so a read that is already stale costs a refusal, never a
wrong change.
"""

from __future__ import annotations

from consumers.processors.base import Deps, Processor, command_for
from domains.order.commands import CompleteOrder
from domains.order.model import Order
from domains.report.commands import AmendReport, GenerateReport
from domains.report.model import Report
from domains.result.events import ResultVerified
from domains.result.model import Result
from domains.shared.messages import Command, EventEnvelope

NAME = "completion"


def processor(deps: Deps) -> Processor:
    def on_verified(envelope: EventEnvelope) -> list[Command]:
        event = envelope.event
        assert isinstance(event, ResultVerified)
        org = envelope.metadata.organization_id
        with deps.uow_factory() as uow:
            order = uow.repository(Order).get(org, event.order_id)
            results = uow.repository(Result).list_by(org, order_id=order.id)
            report = uow.repository(Report).find_by(org, order_id=order.id)
        mine = next((r for r in results if r.id == event.result_id), None)
        if mine is None or not mine.is_verified or mine.reading.value_text != event.value_text:
            return []
        if order.status == "confirmed":
            verified = {r.loinc_code for r in results if r.is_verified}
            if set(order.loinc_codes) <= verified:
                return [command_for(NAME, envelope, CompleteOrder, order_id=order.id)]
            return []
        if order.status != "completed":
            return []
        if report is None:
            # Normally the reporting processor's (on ORDER_COMPLETED); only a value corrected
            # after release can have had that generation refused.
            if not mine.is_corrected:
                return []
            return [command_for(NAME, envelope, GenerateReport, order_id=order.id)]
        if shows(report, mine):
            return []
        reason = amendment_reason(mine)
        return [command_for(NAME, envelope, AmendReport, order_id=order.id, reason=reason)]

    return Processor(NAME, {ResultVerified: on_verified})


def shows(report: Report, result: Result) -> bool:
    """Does the report's current version print this result's current, verified value?"""
    line = next((x for x in report.current.lines if x.result_id == result.id), None)
    return line is not None and (
        line.value_text,
        line.unit,
        line.flag,
        line.amended,
    ) == (
        result.reading.value_text,
        result.reading.unit,
        result.interpretation.flag,
        result.is_corrected,
    )


def amendment_reason(result: Result) -> str:
    why = result.amendments[-1]["reason"] if result.amendments else "value re-verified"
    return f"{result.test_name} corrected after release: {why}"
