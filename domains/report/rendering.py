"""The plain-text report document: what is printed, e-mailed or shown in the portal."""

from __future__ import annotations

from datetime import datetime

from domains.report.events import ReportLine

_FLAG_MARK = {"N": "", "L": "L", "H": "H", "LL": "LL !!", "HH": "HH !!", "A": "*", "": "--"}


def render_text(
    *,
    patient_name: str,
    mrn: str,
    sex: str,
    date_of_birth: str,
    placer_order_number: str,
    clinician_name: str,
    report_version: int,
    generated_at: datetime,
    lines: list[ReportLine],
    amendment_reason: str | None,
) -> str:
    title = "LABORATORY REPORT" + (
        f" (AMENDED, version {report_version})" if report_version > 1 else ""
    )
    out = [
        title,
        "=" * len(title),
        f"Patient : {patient_name}    MRN: {mrn}",
        f"Sex/DOB : {sex} / {date_of_birth}",
        f"Order   : {placer_order_number}    Ordered by: {clinician_name}",
        f"Issued  : {generated_at:%Y-%m-%d %H:%M} UTC",
    ]
    if amendment_reason:
        out.append(f"Amended : {amendment_reason}")
    out += ["", f"{'Test':<32}{'Result':>12}  {'Unit':<10}{'Flag':<7}Reference", "-" * 78]
    for line in lines:
        value = line.value_text + (" (c)" if line.amended else "")
        out.append(
            f"{line.test_name:<32}{value:>12}  {line.unit:<10}"
            f"{_FLAG_MARK.get(line.flag, line.flag):<7}{line.reference_text}"
        )
    out += _interpretation_notes(lines)
    out += [
        "",
        "(c) corrected result.  !! critical value, phoned to the ordering clinician.",
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
