"""What a report version prints and when it may go out: one line per ordered test, from the
order's results and their tubes; a version is released only while the results it was made from
are unchanged and every critical value on them has its read-back call documented."""

from __future__ import annotations

import dataclasses

from domains.order.model import Order
from domains.report.events import CriticalCall, ReportLine
from domains.result.model import Result
from domains.sample.model import Sample
from domains.shared.errors import Conflict


class CriticalCallPending(Conflict):
    """A critical value on the order has no documented read-back call: the report would claim
    (or imply) a call nobody recorded. Document the call first (HTTP 409)."""

    code = "critical_call_pending"


class ReportOutOfDate(Conflict):
    """A result changed after this report version was generated: signing or delivering it
    would release a known-wrong value. The amended version is the one that goes out."""

    code = "report_out_of_date"


def sources_of(results: list[Result]) -> dict[str, int]:
    """Each result of the order at the version the report is made from."""
    return {r.id: r.version for r in results}


def check_calls_documented(results: list[Result], action: str) -> None:
    pending = [r.test_name for r in results if r.open_critical is not None]
    if pending:
        raise CriticalCallPending(
            f"critical values without a documented read-back call ({', '.join(pending)}): "
            f"the report cannot {action} until each call (who phoned, who took it, when, "
            "read back) is recorded"
        )


def check_current(sources: dict[str, int], results: list[Result], action: str) -> None:
    if not sources:
        raise ReportOutOfDate(
            f"this report version predates result version checks and cannot {action}; "
            "amend the report to generate a current version"
        )
    changed = [r.test_name for r in results if sources.get(r.id) != r.version]
    changed += ["a result no longer on the order"] * len(set(sources) - {r.id for r in results})
    if changed:
        raise ReportOutOfDate(
            f"results changed after this report version was generated ({', '.join(changed)}); "
            f"it cannot {action}: amend the report and release the amended version"
        )


def report_lines(order: Order, results: list[Result], samples: list[Sample]) -> list[ReportLine]:
    """One line per ordered test, in the order's test order: its one live verified value, or
    the note that it was withdrawn. Refused while a test's value awaits verification or review,
    and when a test has two live results (one of them would silently vanish from the report)."""
    tubes = {s.id: s for s in samples}
    lines, waiting, doubled = [], [], []
    for code in order.loinc_codes:
        mine = [r for r in results if r.order_id == order.id and r.loinc_code == code]
        live = [r for r in mine if r.is_live]
        if len(live) > 1:
            doubled.append(order.test(code).name)
        elif live and live[0].is_verified and not live[0].review_required:
            lines.append(_line(live[0], tubes.get(live[0].sample_id)))
        elif not live and mine:
            lines.append(_withdrawn(mine[-1], tubes.get(mine[-1].sample_id)))
        else:
            waiting.append(order.test(code).name)
    if doubled:
        raise Conflict(
            f"order {order.placer_order_number} has two live results for {', '.join(doubled)}; "
            "invalidate the one that must not count"
        )
    if waiting:
        raise Conflict(
            f"order {order.placer_order_number} has results awaiting verification: "
            f"{', '.join(waiting)}"
        )
    return lines


def _with_specimen(line: ReportLine, r: Result, tube: Sample | None) -> ReportLine:
    return dataclasses.replace(
        line,
        accession_number=r.context.accession_number,
        specimen_type=tube.specimen_type if tube else None,
        collected_at=tube.collected_at if tube else None,
        received_at=tube.received_at if tube else None,
    )


def _line(r: Result, tube: Sample | None) -> ReportLine:
    calls = [
        CriticalCall(
            critical_id=e.critical_id,
            value_text=e.value_text,
            flag=e.flag,
            called_by=e.called_by or "",
            acknowledged_by=e.acknowledged_by or "",
            acknowledged_at=e.acknowledged_at,
        )
        for e in r.criticals
        if e.status == "acknowledged" and e.acknowledged_at is not None
    ]
    line = ReportLine(
        result_id=r.id,
        loinc_code=r.loinc_code,
        test_name=r.test_name,
        value_text=r.reading.value_text,
        unit=r.reading.unit,
        flag=r.interpretation.flag,
        reference_text=r.interpretation.reference_text,
        amended=r.is_corrected,
        catalog_version=r.catalog_version,
        interpretation_note=r.interpretation.note,
        verified_by=r.verified_by,
        self_verified=r.self_verified,
        critical_calls=calls,
    )
    return _with_specimen(line, r, tube)


def _withdrawn(r: Result, tube: Sample | None) -> ReportLine:
    why = r.invalidation or {}
    reason = str(why.get("reason_code", "withdrawn"))
    if why.get("reason_text"):
        reason += f": {why['reason_text']}"
    line = ReportLine(
        result_id=r.id,
        loinc_code=r.loinc_code,
        test_name=r.test_name,
        value_text="",  # a withdrawn value is never printed
        unit=r.reading.unit,
        flag="",
        reference_text="",
        withdrawn_reason=reason,
    )
    return _with_specimen(line, r, tube)
