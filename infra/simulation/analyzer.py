"""A simulated chemistry analyzer: reads a tube's barcode (the accession number), measures, and
sends the values as ORU^R01 over MLLP with its own test codes (mapped by its partner entry)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from infra.hl7.er7 import compose, escape, ts

APPLICATION, FACILITY = "CHEMAN", "LABCORE"
MODEL = "CHEM-9000"
# the analyzer's own assay codes -> LOINC (what `lis hl7 partner --code` registers)
ASSAY_CODES = {
    "NA": "2951-2", "K": "2823-3", "CL": "2075-0", "CO2": "2028-9", "BUN": "3094-0",
    "CREA": "2160-0", "CA": "17861-6", "TP": "2885-2", "ALB": "1751-7", "TBIL": "1975-2",
    "DBIL": "1968-7", "ALT": "1742-6", "AST": "1920-8", "ALP": "6768-6", "GGT": "2324-2",
    "CHOL": "2093-3", "TRIG": "2571-8", "HDL": "2085-9", "LDL": "13457-7", "GLU": "2345-7",
    "UA": "3084-1", "CRP": "1988-5",
}  # fmt: skip
CODE_OF = {loinc: code for code, loinc in ASSAY_CODES.items()}


@dataclass(frozen=True)
class Measurement:
    loinc_code: str
    value_text: str  # "5.1", "<0.01"
    unit: str


def oru_r01(
    control_id: str, accession: str, values: list[Measurement], *, lab: str, now: datetime
) -> str:
    segments = [
        ["MSH", "^~\\&", APPLICATION, FACILITY, "LIS", escape(lab), ts(now), "",
         "ORU^R01^ORU_R01", escape(control_id), "P", "2.5.1"],
        ["OBR", "1", "", escape(accession), "CHEM^Chemistry panel^L"],
    ]  # fmt: skip
    for n, m in enumerate(values, start=1):
        code = CODE_OF.get(m.loinc_code)
        identifier = f"{code}^{code}^L" if code else f"{m.loinc_code}^^LN"
        censored = m.value_text[:1] in "<>"
        kind, value = (
            ("SN", f"{m.value_text[0]}^{m.value_text[1:]}")
            if censored
            else ("NM", escape(m.value_text))
        )
        segments.append(
            ["OBX", str(n), kind, identifier, "", value, escape(m.unit), "", "", "", "", "F",
             "", "", "", "", "", "", f"{MODEL}-01", ts(now)]
        )  # fmt: skip
    segments.append(["SPM", "1", f"^{escape(accession)}", "", "SER^Serum^HL70487"])
    return compose(*segments)
