"""The API's envelope on the real stack: correlation ids into the events, idempotency keys as
command ids, problem details for each kind of refusal, paginated lists, /health, /metrics."""

from __future__ import annotations

import uuid
from collections.abc import Callable

import httpx
import pytest
from sqlalchemy import create_engine, text

from domains.shared.check_digits import verhoeff_check_digit
from infra.config.settings import Settings
from infra.http.auth import mint_token
from tests.integration.http.conftest import (
    ORG_A,
    PATIENT,
    CallerFactory,
    Snapshot,
    Staff,
    lab_flow,
    staff_of,
)

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def staff(caller: CallerFactory) -> Staff:
    return staff_of(caller, ORG_A)


def outbox_correlations(settings: Settings, aggregate_id: str) -> set[str]:
    engine = create_engine(settings.database_url)
    try:
        with engine.connect() as conn:
            rows = conn.execute(
                text("SELECT headers->>'correlation_id' FROM outbox WHERE aggregate_id = :a"),
                {"a": aggregate_id},
            ).scalars()
            return set(rows)
    finally:
        engine.dispose()


def test_the_correlation_id_is_returned_and_carried_by_the_events(
    staff: Staff, api_settings: Settings
) -> None:
    flow_id = f"visit-{uuid.uuid4()}"
    response = staff.desk.post("/patients", PATIENT, headers={"X-Correlation-ID": flow_id})
    assert response.status_code == 201
    assert response.headers["x-correlation-id"] == flow_id
    assert outbox_correlations(api_settings, response.json()["patient_id"]) == {flow_id}
    fresh = staff.desk.post("/patients", PATIENT).headers["x-correlation-id"]
    assert uuid.UUID(fresh)  # made when absent
    bad = staff.desk.post("/patients", PATIENT, headers={"X-Correlation-ID": "has space"})
    assert (bad.status_code, bad.json()["field"]) == (400, "X-Correlation-ID")


def test_a_retried_post_returns_the_first_outcome_and_writes_once(
    staff: Staff, written: Callable[[], Snapshot]
) -> None:
    key = {"Idempotency-Key": f"register-{uuid.uuid4()}"}
    first = staff.desk.post("/patients", PATIENT, headers=key)
    after_first = written()
    again = staff.desk.post("/patients", PATIENT, headers=key)
    assert (first.status_code, again.status_code) == (201, 201)
    assert again.json() == first.json()
    assert again.headers["x-command-id"] == key["Idempotency-Key"]
    assert written() == after_first


def test_a_reused_key_with_another_body_is_refused_not_answered_with_the_old_outcome(
    staff: Staff, written: Callable[[], Snapshot]
) -> None:
    key = {"Idempotency-Key": f"register-{uuid.uuid4()}"}
    assert staff.desk.post("/patients", PATIENT, headers=key).status_code == 201
    before = written()
    other = staff.desk.post("/patients", {**PATIENT, "given_name": "Aarti"}, headers=key)
    assert other.status_code == 422
    assert other.json()["field"] == "Idempotency-Key"
    assert written() == before


def test_a_refused_command_leaves_its_key_free_for_the_corrected_request(staff: Staff) -> None:
    key = {"Idempotency-Key": f"order-{uuid.uuid4()}"}
    order = {
        "patient_id": "no-such-patient",
        "placer_order_number": f"P-{uuid.uuid4().hex[:8]}",
        "loinc_codes": ["2823-3"],
        "ordering_clinician_name": "Dr. A. Rao",
    }
    assert staff.desk.post("/orders", order, headers=key).status_code == 404
    patient_id = staff.desk.ok("POST", "/patients", PATIENT)["patient_id"]
    fixed = staff.desk.post("/orders", {**order, "patient_id": patient_id}, headers=key)
    assert fixed.status_code == 201, fixed.text


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({**PATIENT, "date_of_birth": "12/04/1985"}, "date_of_birth"),
        ({**PATIENT, "sex": "robot"}, "sex"),
        ({**PATIENT, "mobile": "12345"}, "mobile"),
        ({k: v for k, v in PATIENT.items() if k != "family_name"}, "family_name"),
        ({**PATIENT, "favourite_colour": "blue"}, "favourite_colour"),
        ({**PATIENT, "given_name": "Pri\x00ya"}, "given_name"),
    ],
)
def test_bad_input_is_a_422_problem_naming_the_field(
    staff: Staff, body: dict[str, object], field: str, written: Callable[[], Snapshot]
) -> None:
    before = written()
    response = staff.desk.post("/patients", body)
    assert response.status_code == 422, response.text
    problem = response.json()
    assert response.headers["content-type"] == "application/problem+json"
    assert problem["field"] == field
    assert problem["reason"]
    assert written() == before


def test_each_refusal_is_a_problem_with_its_status(
    staff: Staff, api_url: str, written: Callable[[], Snapshot]
) -> None:
    before = written()
    plain = httpx.Client(base_url=api_url)
    assert plain.post("/api/v1/patients", json=PATIENT).status_code == 401
    forged = mint_token(
        "not-the-secret-of-this-api-at-all-xx", user_id="u", organization_id=ORG_A, roles=["admin"]
    )
    response = plain.get("/api/v1/patients/x-1", headers={"Authorization": f"Bearer {forged}"})
    assert (response.status_code, response.headers["www-authenticate"]) == (
        401,
        'Bearer realm="lis"',
    )
    malformed = staff.desk.request(
        "POST", "/patients", content=b"{not json", headers={"Content-Type": "application/json"}
    )
    assert malformed.status_code == 400
    huge = staff.desk.post("/patients", {**PATIENT, "family_name": "x" * 70_000})
    assert huge.status_code == 413
    assert staff.desk.get("/patients/unknown-1").status_code == 404
    assert written() == before
    flow = lab_flow(staff, f"HIS-C-{uuid.uuid4().hex[:6]}")
    again = staff.tech.post(f"/samples/{flow['sample_id']}/receive")
    assert (again.status_code, again.json()["code"]) == (409, "illegal_transition")


def test_lists_are_paginated(staff: Staff) -> None:
    for _ in range(3):
        staff.desk.ok("POST", "/patients", {**PATIENT, "family_name": "Paginata"})
    first = staff.desk.get("/patients", params={"name": "Paginata", "limit": 2}).json()
    assert (len(first["items"]), first["next_offset"]) == (2, 2)
    rest = staff.desk.get("/patients", params={"name": "Paginata", "limit": 2, "offset": 2})
    assert len(rest.json()["items"]) >= 1
    assert staff.desk.get("/patients", params={"name": "P", "limit": 1000}).status_code == 422


def test_the_critical_worklist_lists_an_unacknowledged_critical_value(staff: Staff) -> None:
    flow = lab_flow(staff, f"HIS-W-{uuid.uuid4().hex[:6]}")
    pending = staff.tech.ok("GET", "/worklists/critical-values?limit=100")["items"]
    assert flow["result_id"] in {i["result_id"] for i in pending}
    staff.tech.ok(
        "POST",
        f"/results/{flow['result_id']}/critical-acknowledgements",
        {"acknowledged_by": "Dr. on call", "read_back_confirmed": True},
    )
    pending = staff.tech.ok("GET", "/worklists/critical-values?limit=100")["items"]
    assert flow["result_id"] not in {i["result_id"] for i in pending}


def test_the_bench_worklist_shows_routed_samples_awaiting_results(staff: Staff) -> None:
    s = staff
    patient_id = s.desk.ok("POST", "/patients", PATIENT)["patient_id"]
    order = {
        "patient_id": patient_id,
        "placer_order_number": f"B-{uuid.uuid4().hex[:8]}",
        "loinc_codes": ["2823-3", "2075-0"],
        "ordering_clinician_name": "Dr. A. Rao",
    }
    order_id = s.desk.ok("POST", "/orders", order)["order_id"]
    s.desk.ok("POST", f"/orders/{order_id}/confirm")
    sample_id = s.phleb.ok("POST", f"/orders/{order_id}/samples", {"specimen_type": "serum"})[
        "sample_id"
    ]
    s.tech.ok("POST", f"/samples/{sample_id}/receive")
    bench = {"department": "biochemistry", "bench": "chemistry-analyzer"}
    s.tech.ok("POST", f"/samples/{sample_id}/route", bench)
    queue = s.tech.ok("GET", "/worklists/benches/chemistry-analyzer")["items"]
    assert [q["id"] for q in queue] == [sample_id]
    for code, value in (("2823-3", "4.1"), ("2075-0", "101")):
        s.tech.ok(
            "POST",
            f"/samples/{sample_id}/results",
            {"loinc_code": code, "value_text": value, "unit": "mmol/L"},
        )
    assert s.tech.ok("GET", "/worklists/benches/chemistry-analyzer")["items"] == []


def test_the_report_document_is_served_as_text(staff: Staff) -> None:
    flow = lab_flow(staff, f"HIS-R-{uuid.uuid4().hex[:6]}", potassium="4.4")
    staff.path.ok("POST", f"/results/{flow['result_id']}/verify")
    staff.path.ok("POST", f"/orders/{flow['order_id']}/complete")
    report_id = staff.path.ok("POST", f"/orders/{flow['order_id']}/report")["report_id"]
    document = staff.path.get(f"/reports/{report_id}/document")
    assert document.status_code == 200
    assert document.headers["content-type"].startswith("text/plain")
    assert "Potassium" in document.text


def test_health_names_every_part_and_metrics_count_requests_by_route(api_url: str) -> None:
    health = httpx.get(f"{api_url}/health", timeout=20)
    assert health.status_code == 200, health.text
    assert set(health.json()["parts"]) == {"database", "broker", "registry", "redis"}
    metrics = httpx.get(f"{api_url}/metrics", timeout=20).text
    assert 'lis_http_requests_total{method="POST",route="/api/v1/patients",status="201"}' in metrics
    assert "lis_http_request_duration_seconds_bucket" in metrics
    assert "lis_outbox_backlog" in metrics
    assert "lis_critical_detection_to_acknowledgement_seconds_bucket" in metrics
    assert "/api/v1/patients/x-1" not in metrics  # ids never become labels


def test_a_known_aadhaar_is_a_409_that_points_at_the_existing_chart(staff: Staff) -> None:
    body = "2" + f"{uuid.uuid4().int % 10**10:010d}"
    aadhaar = body + verhoeff_check_digit(body)
    first = staff.desk.post("/patients", {**PATIENT, "aadhaar": aadhaar})
    assert first.status_code == 201
    again = staff.desk.post("/patients", {**PATIENT, "given_name": "Meena", "aadhaar": aadhaar})
    assert again.status_code == 409
    problem = again.json()
    assert problem["code"] == "duplicate_identifier"
    assert problem["existing_patient_id"] == first.json()["patient_id"]
    assert aadhaar not in again.text  # the number itself is never echoed
