"""A simulated hospital system (HIS): places lab orders as OML^O21 over MLLP and reads the ACK.

Its patients carry the hospital's own id (PID-3 under the hospital's assigning authority); the
lab links that id to its patient on the first order, so the next order finds the same patient.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from infra.hl7 import mllp
from infra.hl7.er7 import Seg, compose, escape, ts

APPLICATION, FACILITY = "CITYHIS", "CITYHOSP"
_PRIORITY = {"stat": "S", "urgent": "A", "routine": "R"}
_SEX = {"male": "M", "female": "F", "other": "O", "unknown": "U"}


@dataclass(frozen=True)
class HisPatient:
    hospital_id: str
    family_name: str
    given_name: str
    date_of_birth: date
    sex: str
    mobile: str | None = None


@dataclass(frozen=True)
class HisOrder:
    placer_order_number: str
    loinc_codes: list[str]
    priority: str  # routine | urgent | stat
    clinician_family: str
    clinician_given: str


def oml_o21(
    control_id: str, patient: HisPatient, order: HisOrder, *, lab: str, now: datetime
) -> str:
    p, o = patient, order
    phone = f"^PRN^CP^^^^^^^^^{escape(p.mobile)}" if p.mobile else ""
    segments = [
        ["MSH", "^~\\&", APPLICATION, FACILITY, "LIS", escape(lab), ts(now), "",
         "OML^O21^OML_O21", escape(control_id), "P", "2.5.1", "", "", "AL", "NE", "IND",
         "UNICODE UTF-8"],
        ["PID", "1", "", f"{escape(p.hospital_id)}^^^{FACILITY}^PI", "",
         f"{escape(p.family_name)}^{escape(p.given_name)}", "", p.date_of_birth.strftime("%Y%m%d"),
         _SEX[p.sex], "", "", "", "", phone],
    ]  # fmt: skip
    clinician = f"D{o.placer_order_number[-4:]}^{escape(o.clinician_family)}^" + escape(
        o.clinician_given
    )
    group = escape(o.placer_order_number)
    for n, code in enumerate(o.loinc_codes, start=1):
        # one ORC per test (v2.5.1); the requisition's tests share the placer group number
        line = f"{group}-{n}"
        segments += [
            ["ORC", "NW", line, "", group, "", "", "", "", ts(now), "", "", clinician],
            ["TQ1", "1", "", "", "", "", "", "", "", _PRIORITY[o.priority]],
            ["OBR", str(n), line, "", f"{code}^^LN"],
        ]
    return compose(*segments)


def send(message: str, host: str, port: int, timeout: float = 30.0) -> Seg:
    """Send and return the MSA of the answer (MSA-1 AA/AE/AR)."""
    answer = mllp.exchange(host, port, message, timeout=timeout)
    for line in answer.split("\r"):
        if line.startswith("MSA|"):
            return Seg("MSA", line.split("|"))
    raise ValueError("the answer has no MSA segment")
