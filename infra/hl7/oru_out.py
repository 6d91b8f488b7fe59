"""Outbound ORU^R01: one verified result as a hospital system or EHR reads it.

PID (MRN under our organization); ORC/OBR with the placer number (the ordering system's) and
the filler number (our accession number); one OBX: LOINC code, value (NM, SN for a censored
value, ST for a coded one), UCUM unit, reference range, abnormal flag (N L H LL HH A; LL and HH
are the critical ones), status F (final) or C (a corrected value, verified after an
amendment), observation time (collection, OBX-14), analysis time and analyzer (OBX-19/18),
verifier (OBX-16); SPM with the accession number, specimen type, collection and receipt times.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from infra.hl7.er7 import compose, escape, ts

# HL7 table 0487 (specimen type) for the catalog's specimen types
SPECIMEN_CODES = {
    "serum": ("SER", "Serum"),
    "plasma": ("PLAS", "Plasma"),
    "citrated_plasma": ("PLAS", "Plasma"),
    "whole_blood": ("BLD", "Whole blood"),
    "urine": ("UR", "Urine"),
}
_SEX = {"male": "M", "female": "F", "other": "O", "unknown": "U"}


@dataclass(frozen=True)
class ResultMessage:
    """Everything one outbound ORU^R01 says (read from the aggregates and the event)."""

    organization_id: str
    mrn: str
    family_name: str
    given_name: str
    date_of_birth: date
    sex: str
    placer_order_number: str
    clinician_name: str
    accession_number: str
    specimen_type: str
    collected_at: datetime
    received_at: datetime | None
    loinc_code: str
    test_name: str
    value_text: str
    unit: str
    flag: str
    reference_text: str
    corrected: bool
    verified_at: datetime
    verified_by: str
    analyzer_id: str | None = None
    analyzed_at: datetime | None = None
    # the value sent before was wrong (a withdrawn result): OBX-11 "W", post original as wrong
    withdrawn: bool = False


def oru_r01(m: ResultMessage, *, control_id: str, receiving: tuple[str, str], now: datetime) -> str:
    status = "W" if m.withdrawn else "C" if m.corrected else "F"
    kind, value = _value(m.value_text, m.unit)
    specimen, specimen_name = SPECIMEN_CODES.get(m.specimen_type, ("SPM", m.specimen_type))
    unit = f"{escape(m.unit)}^{escape(m.unit)}^UCUM" if m.unit else ""
    test = f"{m.loinc_code}^{escape(m.test_name)}^LN"
    return compose(
        ["MSH", "^~\\&", "LIS", escape(m.organization_id), escape(receiving[0]),
         escape(receiving[1]), ts(now), "", "ORU^R01^ORU_R01", control_id, "P", "2.5.1", "", "",
         "AL", "NE", "IND", "UNICODE UTF-8"],
        ["PID", "1", "", f"{m.mrn}^^^{escape(m.organization_id)}^MR", "",
         f"{escape(m.family_name)}^{escape(m.given_name)}", "", m.date_of_birth.strftime("%Y%m%d"),
         _SEX.get(m.sex, "U")],
        # the filler order number is the tube's accession number (ORC-3 holds 22 characters)
        ["ORC", "RE", escape(m.placer_order_number), escape(m.accession_number), "", "CM", "",
         "", "",
         ts(m.verified_at), "", "", f"^{escape(m.clinician_name)}"],
        ["OBR", "1", escape(m.placer_order_number), escape(m.accession_number), test, "", "",
         ts(m.collected_at), "", "", "", "", "", "", "", "", f"^{escape(m.clinician_name)}", "",
         "", "", "", "", ts(m.verified_at), "", "", status],
        ["OBX", "1", kind, test, "", value, unit, escape(m.reference_text), m.flag, "", "",
         status, "", "", ts(m.collected_at), "", escape(m.verified_by), "",
         escape(m.analyzer_id or ""), ts(m.analyzed_at) if m.analyzed_at else ""],
        ["SPM", "1", f"^{escape(m.accession_number)}", "",
         f"{specimen}^{escape(specimen_name)}^HL70487", "", "", "", "", "", "", "", "", "", "",
         "", "", ts(m.collected_at), ts(m.received_at) if m.received_at else ""],
    )  # fmt: skip


def _value(value_text: str, unit: str) -> tuple[str, str]:
    if value_text[:1] in ("<", ">"):  # censored: structured numeric, comparator ^ number
        return "SN", f"{escape(value_text[0])}^{value_text[1:]}"
    if not unit:  # a coded result ("Reactive", "O")
        return "ST", escape(value_text)
    return "NM", value_text
