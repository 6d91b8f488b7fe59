"""Tenant isolation and the two-person rule, through the API on the real stack.

A token of organization A gets 404 for every id of organization B (read or command, and for
ids it merely guessed) and changes nothing there; a body naming another organization or user
is refused. Entering and verifying, or amending and verifying, by one user is refused (403)."""

from __future__ import annotations

import uuid
from collections.abc import Callable

import pytest

from infra.http.command_table import ROUTES, CommandRoute
from infra.http.models import request_model
from tests.integration.http.conftest import (
    ORG_A,
    ORG_B,
    PATIENT,
    POTASSIUM,
    CallerFactory,
    Snapshot,
    Staff,
    lab_flow,
    staff_of,
)

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def lab_b(caller: CallerFactory) -> dict[str, str]:
    s = staff_of(caller, ORG_B)
    flow = lab_flow(s, "HIS-B-1")
    # the critical potassium is phoned and read back: no report is made before (issue 12)
    s.tech.ok(
        "POST",
        f"/results/{flow['result_id']}/critical-acknowledgements",
        {"acknowledged_by": "Sr. Nurse J. Thomas", "read_back_confirmed": True},
    )
    s.path.ok("POST", f"/results/{flow['result_id']}/verify")
    s.path.ok("POST", f"/orders/{flow['order_id']}/complete")
    flow["report_id"] = s.path.ok("POST", f"/orders/{flow['order_id']}/report")["report_id"]
    return flow


@pytest.fixture(scope="module")
def all_roles_of_a(caller: CallerFactory) -> Staff:
    return staff_of(caller, ORG_A)


READS = [
    "/patients/{patient_id}",
    "/orders/{order_id}",
    "/samples/{sample_id}",
    "/results/{result_id}",
    "/reports/{report_id}",
    "/reports/{report_id}/document",
]


@pytest.mark.parametrize("template", READS)
def test_organization_a_finds_none_of_organization_bs_records(
    template: str, caller: CallerFactory, lab_b: dict[str, str]
) -> None:
    admin_a = caller("admin-a", "admin", "pathologist", org=ORG_A)
    admin_b = caller("admin-b", "admin", "pathologist", org=ORG_B)
    path = template.format(**lab_b)
    assert admin_b.get(path).status_code == 200  # the record is there...
    response = admin_a.get(path)  # ...but not for another organization
    assert response.status_code == 404, response.text
    assert response.headers["content-type"] == "application/problem+json"
    guessed = template.format(**{k: str(uuid.uuid4()) for k in lab_b})
    assert admin_a.get(guessed).status_code == 404


def test_organization_a_cannot_search_organization_bs_patients(
    caller: CallerFactory, lab_b: dict[str, str]
) -> None:
    desk_a = caller("desk-a", "front_desk", org=ORG_A)
    found = desk_a.get("/patients", params={"mobile": "9876543210"}).json()["items"]
    assert lab_b["patient_id"] not in {p["patient_id"] for p in found}


@pytest.mark.parametrize("route", [r for r in ROUTES if r.path_params], ids=lambda r: r.name)
def test_no_command_of_organization_a_reaches_organization_bs_records(
    route: CommandRoute,
    caller: CallerFactory,
    lab_b: dict[str, str],
    written: Callable[[], Snapshot],
) -> None:
    everyone = caller("all-a", route.roles[0], org=ORG_A)
    path = route.path.format(**{name: lab_b[name] for name in route.path_params})
    body = {
        "reason": "r",
        "value_text": "5.0",
        "unit": "mmol/L",
        "loinc_code": POTASSIUM,
        "specimen_type": "serum",
        "pathologist_name": "Dr. A",
        "tier": 2,
        "department": "biochemistry",
        "bench": "chemistry-analyzer",
        "reason_code": "hemolyzed",
        "acknowledged_by": "nurse",
        "read_back_confirmed": True,
        "recipients": [{"role": "patient", "name": "p", "channel": "portal"}],
        "amount_paise": 10_000,
        "method": "cash",
        "reference": "RCPT-1",
    }
    body = {k: v for k, v in body.items() if k in request_model(route).model_fields}
    before = written()
    response = everyone.request(route.method, path, json=body)
    assert response.status_code == 404, response.text
    assert written() == before


def test_a_body_naming_another_organization_or_user_is_refused(
    all_roles_of_a: Staff, written: Callable[[], Snapshot]
) -> None:
    before = written()
    for extra in ({"organization_id": ORG_B}, {"user_id": "someone-else"}):
        response = all_roles_of_a.desk.post("/patients", {**PATIENT, **extra})
        assert response.status_code == 403, response.text
        assert "token" in response.json()["detail"]
    response = all_roles_of_a.phleb.post(
        "/orders/x-1/samples", {"specimen_type": "serum", "collected_by": "another.phleb"}
    )
    assert response.status_code == 403
    assert written() == before
    # repeating one's own identity is fine
    mine = {**PATIENT, "organization_id": ORG_A, "user_id": all_roles_of_a.desk.user_id}
    assert all_roles_of_a.desk.post("/patients", mine).status_code == 201


def test_one_user_cannot_enter_and_verify_the_same_result(
    caller: CallerFactory, written: Callable[[], Snapshot]
) -> None:
    both = caller("tech-and-path", "technologist", "pathologist")
    s = staff_of(caller, ORG_A)
    s.tech = both  # the same person enters...
    flow = lab_flow(s, "HIS-2P-1", potassium="4.2")
    before = written()
    response = both.post(f"/results/{flow['result_id']}/verify")  # ...and tries to verify
    assert response.status_code == 403, response.text
    assert response.json()["code"] == "permission_denied"
    assert written() == before
    assert s.path.post(f"/results/{flow['result_id']}/verify").status_code == 200


def test_an_amender_cannot_verify_their_own_amendment(
    caller: CallerFactory, written: Callable[[], Snapshot]
) -> None:
    s = staff_of(caller, ORG_A)
    flow = lab_flow(s, "HIS-2P-2", potassium="4.2")
    s.path.ok("POST", f"/results/{flow['result_id']}/verify")
    amender = caller("path-amender", "pathologist")
    amend = {"value_text": "4.6", "unit": "mmol/L", "reason": "transcription error"}
    amender.ok("POST", f"/results/{flow['result_id']}/amend", amend)
    before = written()
    response = amender.post(f"/results/{flow['result_id']}/verify")
    assert response.status_code == 403, response.text
    assert written() == before
    assert s.path.post(f"/results/{flow['result_id']}/verify").status_code == 200
