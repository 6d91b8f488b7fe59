"""ORU^R01 from an analyzer -> EnterResult per OBX, for the sample named by accession number.

The sample is OBR-3 (filler order number: the tube's barcode as the analyzer read it) or, when
that is empty, SPM-2. OBX-3 is a LOINC code (coding system LN) or one of the analyzer's own test
codes (its partner entry maps them); OBX-5/OBX-6 are read and converted exactly as a typed
result is (``read_value``), so every refusal is known before the first result is written. Only
final values (OBX-11 F) are entered; OBX-19 is when it was measured and OBX-18 (else MSH-3) which
analyzer measured it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from domains.catalog.interpretation import read_value
from domains.result.commands import EnterResult
from domains.shared.errors import ConcurrencyConflict, DomainError, InvalidInput
from infra.hl7.er7 import Hl7Error, Seg, parse_ts
from infra.hl7.inbound import Inbound, Services


@dataclass(frozen=True)
class Reading:
    accession: str
    sample_id: str
    loinc_code: str
    value_text: str
    unit: str | None
    analyzer_id: str
    analyzed_at: datetime | None


def enter_results(services: Services, message: Inbound) -> str:
    if message.partner.kind != "analyzer":
        raise Hl7Error("MSH", 3, "results are accepted from analyzers only", "207", reject=True)
    readings = _readings(services, message)
    for r in readings:
        command = message.command(
            EnterResult, f"result:{r.accession}:{r.loinc_code}", sample_id=r.sample_id,
            loinc_code=r.loinc_code, value_text=r.value_text, unit=r.unit,
            analyzer_id=r.analyzer_id, analyzed_at=r.analyzed_at,
        )  # fmt: skip
        try:
            services.send(command)
        except ConcurrencyConflict:
            raise  # still racing after the retries: an unrecorded AE, so a resend applies it
        except DomainError as exc:  # a race with a person entering it: say so, by field
            raise Hl7Error("OBX", 5, str(exc), "207") from None
    return f"{len(readings)} result(s) entered"


def _readings(services: Services, message: Inbound) -> list[Reading]:
    readings: list[Reading] = []
    sample: dict[str, Any] | None = None
    accession = ""
    for seg in message.segments:
        if seg.name == "OBR":
            accession = seg.get(3) or _spm_accession(message, seg)
            if not accession:
                raise Hl7Error("OBR", 3, "the sample's accession number is required", "101")
            sample = services.store.sample(message.organization_id, accession)
            if sample is None:
                raise Hl7Error("OBR", 3, f"no sample with accession number {accession}", "204")
        elif seg.name == "OBX":
            if sample is None:
                raise Hl7Error("OBX", 0, "an OBX needs its OBR", "100")
            readings.append(_reading(services, message, seg, sample, accession))
    if not readings:
        raise Hl7Error("OBX", 0, "no result in the message", "101")
    keys = [(r.sample_id, r.loinc_code) for r in readings]
    if len(set(keys)) != len(keys):
        raise Hl7Error("OBX", 3, "a test is resulted twice for one sample", "205")
    return readings


def _spm_accession(message: Inbound, obr: Seg) -> str:
    spms = message.all("SPM")
    return (spms[0].get(2, 2) or spms[0].get(2, 1)) if spms else ""


def _reading(
    services: Services, message: Inbound, obx: Seg, sample: dict[str, Any], accession: str
) -> Reading:
    loinc = _loinc(services, message, obx)
    test = services.catalog.get(loinc)
    if loinc not in [t["loinc_code"] for t in sample["tests"]]:
        raise Hl7Error("OBX", 3, f"{test.name} is not requested on sample {accession}", "204")
    if sample["status"] == "rejected":
        raise Hl7Error("OBR", 3, f"sample {accession} was rejected", "207")
    if services.store.result_id(message.organization_id, sample["id"], loinc) is not None:
        raise Hl7Error("OBX", 3, f"{test.name} already has a result on {accession}", "205")
    if obx.get(11) != "F":
        raise Hl7Error("OBX", 11, "only final results (F) are entered", "103")
    value_text = _value(obx)
    unit = obx.get(6) or None
    try:
        read_value(test, value_text, unit)
    except InvalidInput as exc:
        raise Hl7Error("OBX", 6 if exc.field == "unit" else 5, exc.reason, "102") from None
    analyzed_at = parse_ts(obx.get(19), "OBX", 19) if obx.get(19) else None
    if analyzed_at is not None and analyzed_at > services.clock.now():
        raise Hl7Error("OBX", 19, "analysis time is in the future", "102")
    return Reading(
        accession=accession,
        sample_id=str(sample["id"]),
        loinc_code=loinc,
        value_text=value_text,
        unit=unit,
        analyzer_id=(obx.get(18) or message.partner.sending_application)[:64],
        analyzed_at=analyzed_at,
    )


def _loinc(services: Services, message: Inbound, obx: Seg) -> str:
    code = obx.required(3, "observation identifier")
    loinc = code if obx.get(3, 3) == "LN" else message.partner.test_codes.get(code)
    if loinc is None:
        reason = f"unknown test code {code} for {message.partner.sending_application}"
        raise Hl7Error("OBX", 3, reason, "103")
    if loinc not in services.catalog:
        raise Hl7Error("OBX", 3, f"unknown test {loinc} in catalog", "103")
    return loinc


def _value(obx: Seg) -> str:
    kind = obx.get(2)
    if kind == "SN":  # structured numeric: comparator ^ number ("<" ^ 0.01)
        text = obx.get(5, 1) + obx.get(5, 2)
    elif kind in ("CWE", "CE"):
        text = obx.get(5, 2) or obx.get(5, 1)
    elif kind in ("NM", "ST"):
        text = obx.get(5)
    else:
        raise Hl7Error("OBX", 2, "value type must be NM, SN, ST or CWE", "103")
    if not text:
        raise Hl7Error("OBX", 5, "the result value is required", "101")
    return text
