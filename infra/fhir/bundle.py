"""A signed report version as a FHIR R4 document Bundle, shaped after the ABDM / NRCeS
DiagnosticReport record (Composition first; Patient, Organization, Practitioner,
ServiceRequest per ordered test, Specimen per tube, Observation per result, DiagnosticReport)
as far as core R4 goes. Plain dicts: what the HAPI validator checks in the tests is exactly
what is served.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from domains.shared.ids import derived_id

LOINC, UCUM = "http://loinc.org", "http://unitsofmeasure.org"
V2_0203 = "http://terminology.hl7.org/CodeSystem/v2-0203"
V2_0074 = "http://terminology.hl7.org/CodeSystem/v2-0074"
V2_0487 = "http://terminology.hl7.org/CodeSystem/v2-0487"
INTERPRETATION = "http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation"
CATEGORY = "http://terminology.hl7.org/CodeSystem/observation-category"
ABHA_SYSTEM = "https://healthid.ndhm.gov.in"
LAB_REPORT = {"system": LOINC, "code": "11502-2", "display": "Laboratory report"}
_FLAGS = {
    "N": "Normal", "L": "Low", "H": "High", "LL": "Critical low", "HH": "Critical high",
    "A": "Abnormal",
}  # fmt: skip
_SPECIMENS = {
    "serum": ("SER", "Serum"), "plasma": ("PLAS", "Plasma"),
    "citrated_plasma": ("PLAS", "Plasma"), "whole_blood": ("BLD", "Whole blood"),
    "urine": ("UR", "Urine"),
}  # fmt: skip


@dataclass(frozen=True)
class Line:
    result_id: str
    loinc_code: str
    test_name: str
    value_text: str
    unit: str
    flag: str
    reference_text: str
    reference_low: float | None
    reference_high: float | None
    amended: bool
    sample_id: str
    withdrawn_reason: str | None = None  # invalidated: never a value, "entered-in-error"


@dataclass(frozen=True)
class Tube:
    sample_id: str
    accession_number: str
    specimen_type: str
    collected_at: datetime
    received_at: datetime | None


@dataclass(frozen=True)
class SignedReport:
    """Everything the document says, read from the aggregates (``documents.signed_report``)."""

    organization_id: str
    organization_name: str
    report_id: str
    report_version: int
    signed_by: str
    signed_at: datetime
    document_text: str
    amendment_reason: str | None
    patient_id: str
    mrn: str
    family_name: str
    given_name: str
    date_of_birth: date
    sex: str
    placer_order_number: str
    clinician_name: str
    lines: list[Line]
    tubes: list[Tube]
    abha_number: str | None = None  # none is recorded yet: the Patient has no ABHA field
    # who signed: the authenticated user (the name above is printed text, not an identity)
    signed_by_user_id: str | None = None


def _practitioner(r: SignedReport, base: str, author_id: str) -> dict[str, Any]:
    """The signer: the printed name, and the signing user's id in this organization, so the
    document names who signed whatever the printed text says."""
    practitioner: dict[str, Any] = {
        "resourceType": "Practitioner", "id": author_id, "name": [{"text": r.signed_by}],
    }  # fmt: skip
    if r.signed_by_user_id:
        practitioner["identifier"] = [{"system": f"{base}/user", "value": r.signed_by_user_id}]
    return practitioner


def document(r: SignedReport, identifier_base: str) -> dict[str, Any]:
    base = f"{identifier_base.rstrip('/')}/{r.organization_id}"

    def uid(*parts: str) -> str:
        return derived_id("fhir", r.report_id, str(r.report_version), *parts)

    ids = {
        "patient": r.patient_id, "org": uid("organization"), "author": uid("practitioner"),
        "report": r.report_id, "composition": uid("composition"),
    }  # fmt: skip
    ref = {k: {"reference": f"urn:uuid:{v}"} for k, v in ids.items()}
    requests = {line.loinc_code: uid("request", line.loinc_code) for line in r.lines}
    specimens = {t.sample_id: uid("specimen", t.sample_id) for t in r.tubes}
    observations = {line.result_id: uid("observation", line.result_id) for line in r.lines}
    amended = r.report_version > 1
    resources: list[dict[str, Any]] = [
        _composition(r, ids["composition"], ref, amended),
        _patient(r, base),
        {"resourceType": "Organization", "id": ids["org"], "active": True,
         "name": r.organization_name},
        _practitioner(r, base, ids["author"]),
        _report(r, ref, amended, requests, specimens, observations),
    ]  # fmt: skip
    for line in r.lines:
        resources.append(
            _request(r, base, requests[line.loinc_code], line, ref, [specimens[line.sample_id]])
        )
    resources += [_specimen(r, base, specimens[t.sample_id], t, ref) for t in r.tubes]
    for line in r.lines:
        resources.append(
            _observation(r, observations[line.result_id], line, ref,
                         specimens[line.sample_id], requests[line.loinc_code])
        )  # fmt: skip
    return {
        "resourceType": "Bundle",
        "id": uid("bundle"),
        "meta": {"lastUpdated": r.signed_at.isoformat()},
        "identifier": {"system": f"{base}/report", "value": f"{r.report_id}-v{r.report_version}"},
        "type": "document",
        "timestamp": r.signed_at.isoformat(),
        "entry": [{"fullUrl": f"urn:uuid:{res['id']}", "resource": res} for res in resources],
    }


def _composition(
    r: SignedReport, cid: str, ref: dict[str, dict[str, str]], amended: bool
) -> dict[str, Any]:
    title = "Laboratory report" + (f" (amended, version {r.report_version})" if amended else "")
    return {
        "resourceType": "Composition", "id": cid,
        "text": {"status": "generated", "div": _div(title)},
        "status": "amended" if amended else "final",
        "type": {"coding": [LAB_REPORT], "text": "Laboratory report"},
        "subject": ref["patient"], "date": r.signed_at.isoformat(),
        "author": [ref["org"], ref["author"]], "title": title,
        "attester": [{"mode": "legal", "time": r.signed_at.isoformat(), "party": ref["author"]}],
        "custodian": ref["org"],
        "section": [{
            "title": "Laboratory results",
            "code": {"coding": [LAB_REPORT]},
            "entry": [ref["report"]],
        }],
    }  # fmt: skip


def _patient(r: SignedReport, base: str) -> dict[str, Any]:
    identifiers: list[dict[str, Any]] = [{
        "type": {"coding": [{"system": V2_0203, "code": "MR", "display": "Medical record number"}]},
        "system": f"{base}/mrn", "value": r.mrn,
    }]  # fmt: skip
    if r.abha_number:
        identifiers.append({"system": ABHA_SYSTEM, "value": r.abha_number})
    return {
        "resourceType": "Patient", "id": r.patient_id, "identifier": identifiers,
        "name": [{"family": r.family_name, "given": [r.given_name]}],
        "gender": r.sex, "birthDate": r.date_of_birth.isoformat(),
    }  # fmt: skip


def _report(
    r: SignedReport,
    ref: dict[str, dict[str, str]],
    amended: bool,
    requests: dict[str, str],
    specimens: dict[str, str],
    observations: dict[str, str],
) -> dict[str, Any]:
    report: dict[str, Any] = {
        "resourceType": "DiagnosticReport", "id": r.report_id,
        "meta": {"versionId": str(r.report_version)},
        "identifier": [{"system": "urn:ietf:rfc:3986", "value": f"urn:uuid:{r.report_id}"}],
        "basedOn": [{"reference": f"urn:uuid:{v}"} for v in requests.values()],
        "status": "amended" if amended else "final",
        "category": [{"coding": [{"system": V2_0074, "code": "LAB", "display": "Laboratory"}]}],
        "code": {"coding": [LAB_REPORT], "text": "Laboratory report"},
        "subject": ref["patient"],
        "effectiveDateTime": min(t.collected_at for t in r.tubes).isoformat(),
        "issued": r.signed_at.isoformat(),
        "performer": [ref["org"]], "resultsInterpreter": [ref["author"]],
        "specimen": [{"reference": f"urn:uuid:{v}"} for v in specimens.values()],
        "result": [{"reference": f"urn:uuid:{v}"} for v in observations.values()],
        "presentedForm": [{
            "contentType": "text/plain; charset=utf-8", "language": "en",
            "data": base64.b64encode(r.document_text.encode()).decode(),
            "title": f"Laboratory report version {r.report_version}",
        }],
    }  # fmt: skip
    if r.amendment_reason:
        report["conclusion"] = f"Amended: {r.amendment_reason}"
    return report


def _request(
    r: SignedReport, base: str, rid: str, line: Line, ref: dict[str, dict[str, str]],
    specimen_ids: list[str],
) -> dict[str, Any]:  # fmt: skip
    placer = {"system": f"{base}/placer", "value": r.placer_order_number}
    plac = {"system": V2_0203, "code": "PLAC", "display": "Placer Identifier"}
    lab = {
        "system": "http://snomed.info/sct",
        "code": "108252007",
        "display": "Laboratory procedure",
    }
    request: dict[str, Any] = {
        "resourceType": "ServiceRequest", "id": rid,
        "identifier": [{"type": {"coding": [plac]}, **placer}],
        "requisition": placer, "status": "completed", "intent": "order",
        "category": [{"coding": [lab]}],
        "code": _code(line), "subject": ref["patient"],
        "specimen": [{"reference": f"urn:uuid:{s}"} for s in specimen_ids],
    }  # fmt: skip
    if r.clinician_name:
        request["requester"] = {"display": r.clinician_name}
    return request


def _specimen(
    r: SignedReport, base: str, sid: str, t: Tube, ref: dict[str, dict[str, str]]
) -> dict[str, Any]:
    code, name = _SPECIMENS.get(t.specimen_type, ("SPM", t.specimen_type))
    accession = {"system": f"{base}/accession", "value": t.accession_number}
    specimen: dict[str, Any] = {
        "resourceType": "Specimen", "id": sid, "identifier": [accession],
        "accessionIdentifier": accession, "status": "available",
        "type": {"coding": [{"system": V2_0487, "code": code, "display": name}]},
        "subject": ref["patient"],
        "collection": {"collectedDateTime": t.collected_at.isoformat()},
    }  # fmt: skip
    if t.received_at is not None:
        specimen["receivedTime"] = t.received_at.isoformat()
    return specimen


def _observation(
    r: SignedReport, oid: str, line: Line, ref: dict[str, dict[str, str]], specimen: str,
    request: str,
) -> dict[str, Any]:  # fmt: skip
    tube = next(t for t in r.tubes if t.sample_id == line.sample_id)
    observation: dict[str, Any] = {
        "resourceType": "Observation", "id": oid,
        "basedOn": [{"reference": f"urn:uuid:{request}"}],
        "status": "amended" if line.amended else "final",
        "category": [{"coding": [{"system": CATEGORY, "code": "laboratory",
                                  "display": "Laboratory"}]}],
        "code": _code(line), "subject": ref["patient"],
        "effectiveDateTime": tube.collected_at.isoformat(), "issued": r.signed_at.isoformat(),
        "performer": [ref["org"]],
    }  # fmt: skip
    if line.withdrawn_reason:  # the value must not be acted on: no value, no interpretation
        observation["status"] = "entered-in-error"
        observation["note"] = [{"text": f"Result withdrawn: {line.withdrawn_reason}"}]
        observation["specimen"] = {"reference": f"urn:uuid:{specimen}"}
        return observation
    observation.update(_value(line))
    if line.flag in _FLAGS:
        observation["interpretation"] = [{"coding": [
            {"system": INTERPRETATION, "code": line.flag, "display": _FLAGS[line.flag]}
        ]}]  # fmt: skip
    observation["specimen"] = {"reference": f"urn:uuid:{specimen}"}
    reference = _reference_range(line)
    if reference:
        observation["referenceRange"] = [reference]
    return observation


def _code(line: Line) -> dict[str, Any]:
    coding = {"system": LOINC, "code": line.loinc_code, "display": line.test_name}
    return {"coding": [coding], "text": line.test_name}


def _value(line: Line) -> dict[str, Any]:
    if not line.unit:  # a coded result ("Reactive", "O")
        return {"valueString": line.value_text}
    comparator = line.value_text[0] if line.value_text[:1] in ("<", ">") else ""
    quantity: dict[str, Any] = {"value": float(line.value_text[len(comparator) :])}
    if comparator:
        quantity["comparator"] = comparator
    return {"valueQuantity": quantity | _unit(line.unit)}


def _unit(unit: str) -> dict[str, str]:
    return {"unit": unit, "system": UCUM, "code": unit}


def _reference_range(line: Line) -> dict[str, Any]:
    found: dict[str, Any] = {}
    if line.unit and line.reference_low is not None:
        found["low"] = {"value": line.reference_low} | _unit(line.unit)
    if line.unit and line.reference_high is not None:
        found["high"] = {"value": line.reference_high} | _unit(line.unit)
    if line.reference_text:
        found["text"] = line.reference_text
    return found


def _div(text: str) -> str:
    safe = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return f'<div xmlns="http://www.w3.org/1999/xhtml"><p>{safe}</p></div>'
