"""Each role does its own work through the API, on the real stack; every command refuses the
roles it does not name with 403, and writes nothing (database, outbox, Redis)."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from infra.http.auth import ROLES
from infra.http.command_table import ROUTES, CommandRoute
from tests.integration.http.conftest import (
    ORG_A,
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


@pytest.fixture(scope="module")
def flow(staff: Staff) -> dict[str, str]:
    return lab_flow(staff, "HIS-ROLES-1")


def test_each_role_does_its_part_of_a_lab_day(staff: Staff, flow: dict[str, str]) -> None:
    s, result_id = staff, flow["result_id"]
    # the technologist phones the critical value; the ward nurse reads it back
    ack = s.tech.ok(
        "POST",
        f"/results/{result_id}/critical-acknowledgements",
        {"acknowledged_by": "Sr. Nurse J. Thomas", "read_back_confirmed": True},
    )
    assert ack["result_id"] == result_id
    assert s.path.ok("POST", f"/results/{result_id}/verify")["status"] == "verified"
    s.path.ok("POST", f"/orders/{flow['order_id']}/complete")
    report_id = s.path.ok("POST", f"/orders/{flow['order_id']}/report")["report_id"]
    signed = s.path.ok("POST", f"/reports/{report_id}/sign", {"pathologist_name": "Dr. Iyer"})
    assert signed["status"] == "signed"
    s.desk.ok(
        "POST",
        f"/reports/{report_id}/deliver",
        {"recipients": [{"role": "ordering_clinician", "name": "Dr. Rao", "channel": "portal"}]},
    )
    report = s.admin.ok("GET", f"/reports/{report_id}")
    # the signature is the pathologist's user id, not the printed name
    assert report["versions"][-1]["signed_by_user_id"] == "path@lab-a"
    assert report["versions"][-1]["signed_by"] == "Dr. Iyer"
    sample = s.tech.ok("GET", f"/samples/{flow['sample_id']}")
    assert [(e["what"], e["who"]) for e in sample["timeline"]][:3] == [
        ("CollectSample", "phleb@lab-a"),
        ("ReceiveSample", "tech@lab-a"),
        ("EnterResult", "tech@lab-a"),
    ]
    assert sample["collected_by"] == "phleb@lab-a"  # from the token, not the body


def test_a_clinician_acknowledges_a_critical_call_as_themselves(
    staff: Staff, caller: CallerFactory
) -> None:
    flow = lab_flow(staff, "HIS-ROLES-2", potassium="2.1", provider=staff.clinician.user_id)
    ack = staff.clinician.request(
        "POST",
        f"/results/{flow['result_id']}/critical-acknowledgements",
        json={"called_by": "tech@lab-a", "read_back_confirmed": True},
    )
    assert ack.status_code == 200, ack.text
    episode = staff.tech.ok("GET", f"/results/{flow['result_id']}")["criticals"][-1]
    assert (episode["status"], episode["acknowledged_by"]) == ("acknowledged", "dr@lab-a")


def test_a_clinician_cannot_acknowledge_a_critical_call_about_another_clinicians_patient(
    staff: Staff, caller: CallerFactory, written: Callable[[], Snapshot]
) -> None:
    flow = lab_flow(staff, "HIS-ROLES-3", potassium="2.1", provider=staff.clinician.user_id)
    other = caller("dr-other@lab-a", "clinician")
    before = written()
    answer = other.request(
        "POST",
        f"/results/{flow['result_id']}/critical-acknowledgements",
        json={"called_by": "tech@lab-a", "read_back_confirmed": True},
    )
    # answered as a read of it would be: nothing about another clinician's patient, not even
    # that the result exists
    assert answer.status_code == 404, answer.text
    assert other.request("GET", f"/results/{flow['result_id']}").status_code == 404
    # their own patient's call: acknowledged now, never backdated
    backdated = staff.clinician.request(
        "POST",
        f"/results/{flow['result_id']}/critical-acknowledgements",
        json={"called_by": "tech@lab-a", "read_back_confirmed": True,
              "acknowledged_at": "2026-01-01T00:00:00Z"},
    )  # fmt: skip
    assert backdated.status_code == 403, backdated.text
    assert "acknowledged_at" in backdated.json()["detail"]
    assert written() == before
    episode = staff.tech.ok("GET", f"/results/{flow['result_id']}")["criticals"][-1]
    assert episode["status"] == "open"


def _refusals() -> list[tuple[CommandRoute, str]]:
    return [(route, role) for route in ROUTES for role in ROLES if role not in route.roles]


@pytest.mark.parametrize(
    ("route", "role"), _refusals(), ids=[f"{r.name}-{role}" for r, role in _refusals()]
)
def test_a_command_refuses_a_role_it_does_not_name_and_writes_nothing(
    route: CommandRoute,
    role: str,
    caller: CallerFactory,
    flow: dict[str, str],
    written: Callable[[], Snapshot],
) -> None:
    who = caller(f"someone-{role}", role)
    path = route.path.format(**{name: flow.get(name, "x-1") for name in route.path_params})
    before = written()
    response = who.request(route.method, path, json={"reason": "r", "loinc_code": "2823-3"})
    assert response.status_code == 403, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert written() == before


@pytest.mark.parametrize("path", ["/patients/x-1", "/samples/x-1", "/worklists/benches/b"])
def test_a_clinician_cannot_browse_patients_or_the_bench(caller: CallerFactory, path: str) -> None:
    assert caller("dr-who", "clinician").get(path).status_code == 403


def test_a_clinician_reads_only_their_own_patients_orders(
    staff: Staff, flow: dict[str, str]
) -> None:
    # the order names no ordering provider id: it is nobody's patient, so not found for them
    assert staff.clinician.get(f"/orders/{flow['order_id']}").status_code == 404
    assert staff.clinician.get(f"/results/{flow['result_id']}").status_code == 404
    assert staff.path.get(f"/orders/{flow['order_id']}").status_code == 200
