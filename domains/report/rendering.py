"""The plain-text report document: what is printed, e-mailed or shown in the portal.

Its contents follow ISO 15189:2022 §7.4.1.6: the issuing laboratory, the patient, the
requester, each specimen (type, accession number, collection and receipt times), each result
with unit, flag and reference interval, who verified it, and every critical value's documented
read-back call. Times print in the lab's zone, with the zone named.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, tzinfo

from domains.report.events import ReportLine
from domains.shared.clock import local_time

_FLAG_MARK = {"N": "", "L": "L", "H": "H", "LL": "LL !!", "HH": "HH !!", "A": "*", "": "--"}


@dataclass(frozen=True)
class Letterhead:
    """Who issues the report, and the zone its times are printed in (the lab's policy)."""

    organization_id: str
    lab_name: str
    lab_address: str
    zone: tzinfo


@dataclass(frozen=True)
class ReportHeading:
    patient_name: str
    mrn: str
    sex: str
    date_of_birth: str
    placer_order_number: str
    clinician_name: str
    report_version: int
    generated_at: datetime
    amendment_reason: str | None


def _at(when: datetime | None, zone: tzinfo) -> str:
    return local_time(when, zone).strftime("%Y-%m-%d %H:%M %Z") if when else "-"


def render_text(letterhead: Letterhead, heading: ReportHeading, lines: list[ReportLine]) -> str:
    h, zone = heading, letterhead.zone
    title = "LABORATORY REPORT" + (
        f" (AMENDED, version {h.report_version})" if h.report_version > 1 else ""
    )
    out = [
        letterhead.lab_name or f"Laboratory {letterhead.organization_id}",
        *([letterhead.lab_address] if letterhead.lab_address else []),
        "",
        title,
        "=" * len(title),
        f"Patient : {h.patient_name}    MRN: {h.mrn}",
        f"Sex/DOB : {h.sex} / {h.date_of_birth}",
        f"Order   : {h.placer_order_number}    Ordered by: {h.clinician_name}",
        f"Issued  : {_at(h.generated_at, zone)}",
    ]
    if h.amendment_reason:
        out.append(f"Amended : {h.amendment_reason}")
    out += ["", "Specimens"]
    seen: set[str | None] = set()
    for line in lines:
        if line.accession_number in seen:
            continue
        seen.add(line.accession_number)
        out.append(
            f"  {line.accession_number or '-'}  {line.specimen_type or '-'}  "
            f"collected {_at(line.collected_at, zone)}  received {_at(line.received_at, zone)}"
        )
    out += ["", f"{'Test':<32}{'Result':>12}  {'Unit':<10}{'Flag':<7}Reference", "-" * 78]
    for line in lines:
        out += _result_lines(line, zone)
    out += _interpretation_notes(lines)
    out += [
        "",
        "(c) corrected result.  !! critical value: its documented read-back call is printed "
        "under it.",
        "Reference intervals are for this patient's sex and age at collection.",
    ]
    return "\n".join(out) + "\n"


def _interpretation_notes(lines: list[ReportLine]) -> list[str]:
    """Why a line has no flag ("--": not interpreted) or needs a closer look, and the catalog
    version(s) the values were read against."""
    notes = [
        f"  {line.test_name}: {line.interpretation_note}"
        for line in lines
        if line.interpretation_note
    ]
    versions = sorted({line.catalog_version for line in lines if line.catalog_version})
    out = ["", "Notes:", *notes] if notes else []
    if versions:
        out.append(f"Interpreted against test catalog {', '.join(versions)}.")
    return out


def _result_lines(line: ReportLine, zone: tzinfo) -> list[str]:
    if line.withdrawn_reason:
        return [
            f"{line.test_name:<32}{'WITHDRAWN':>12}  result withdrawn ({line.withdrawn_reason}); "
            "do not act on any earlier copy"
        ]
    value = line.value_text + (" (c)" if line.amended else "")
    out = [
        f"{line.test_name:<32}{value:>12}  {line.unit:<10}"
        f"{_FLAG_MARK.get(line.flag, line.flag):<7}{line.reference_text}"
    ]
    verifier = line.verified_by or "-"
    if line.self_verified:
        verifier += " (self-verified under lab policy)"
    out.append(f"{'':<4}verified by {verifier}; specimen {line.accession_number or '-'}")
    for call in line.critical_calls:
        out.append(
            f"{'':<4}!! critical {call.value_text} ({call.flag}) phoned by {call.called_by} "
            f"to {call.acknowledged_by} at {_at(call.acknowledged_at, zone)}, read back"
        )
    return out
