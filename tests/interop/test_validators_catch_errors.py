"""The validators the interop tests rely on do fail: a broken FHIR resource and a broken HL7
message each come back with errors (else a green run would prove nothing)."""

from __future__ import annotations

import json

from tests.interop.hapi import HapiValidator

OBSERVATION = {
    "resourceType": "Observation",
    "status": "final",
    "code": {"coding": [{"system": "http://loinc.org", "code": "2345-7"}]},
    "valueQuantity": {
        "value": 95, "unit": "mg/dL", "system": "http://unitsofmeasure.org", "code": "mg/dL",
    },
}  # fmt: skip
MESSAGE = (
    "MSH|^~\\&|LIS|lab|EHR|HOSP|20260101120000+0000||ORU^R01^ORU_R01|C1|P|2.5.1\r"
    "PID|1||0000000018^^^lab^MR||Doe^John||19800101|M\r"
    "OBR|1|P1|S1|2345-7^Glucose^LN\r"
    "OBX|1|NM|2345-7^Glucose^LN||95|mg/dL^mg/dL^UCUM|70-99|N|||F"
)


def test_a_valid_observation_and_message_pass(hapi: HapiValidator) -> None:
    hapi.assert_valid({"ok.json": json.dumps(OBSERVATION), "ok.hl7": MESSAGE})


def test_the_fhir_validator_finds_a_bad_status_and_a_bad_ucum_unit(hapi: HapiValidator) -> None:
    broken = dict(OBSERVATION, status="done")
    broken["valueQuantity"] = dict(OBSERVATION["valueQuantity"], code="mg/dLL")  # type: ignore[arg-type]
    (checked,) = hapi.validate({"broken.json": json.dumps(broken)})
    assert checked.errors >= 2
    text = " ".join(checked.error_lines())
    assert "done" in text
    assert "mg/dLL" in text


def test_the_hl7_validator_finds_a_missing_required_field_and_a_bad_date(
    hapi: HapiValidator,
) -> None:
    no_pid3 = MESSAGE.replace("0000000018^^^lab^MR", "")
    bad_date = MESSAGE.replace("19800101", "1980-01-01")
    stray = MESSAGE + "\rZZZ|1"
    checked = {c.name: c for c in hapi.validate(
        {"no-pid3.hl7": no_pid3, "bad-date.hl7": bad_date, "stray.hl7": stray}
    )}  # fmt: skip
    assert any("PID-3" in line for line in checked["no-pid3.hl7"].error_lines())
    assert checked["bad-date.hl7"].errors >= 1
    assert checked["stray.hl7"].errors >= 1
