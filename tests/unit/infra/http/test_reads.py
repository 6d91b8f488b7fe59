"""The API's reads, on fakes of the read port: Redis read models count only for their own
organization (else Postgres answers), views leave secrets out, and a clinician's reads are
limited to the orders they placed."""

from __future__ import annotations

import json
from typing import Any

from redis import Redis

from infra.http.auth import Principal
from infra.http.query_routes import may_read_order
from infra.http.reads.ports import Page, PatientQuery, ReadModels, View
from infra.http.reads.redis import RedisReadModels
from infra.http.reads.views import patient_view, report_view


class FakeReads(ReadModels):
    """Postgres stand-in: answers from dicts, and says when it was asked."""

    def __init__(self, orders: dict[str, View] | None = None) -> None:
        self.orders = orders or {}
        self.asked: list[str] = []

    def patient(self, org: str, patient_id: str) -> View | None:
        self.asked.append(f"patient {patient_id}")
        return {"id": patient_id, "organization_id": org, "source": "postgres"}

    def search_patients(self, org: str, query: PatientQuery, page: Page) -> list[View]:
        return []

    def order(self, org: str, order_id: str) -> View | None:
        order = self.orders.get(order_id)
        return order if order and order["organization_id"] == org else None

    def sample(self, org: str, sample_id: str) -> View | None:
        return None

    def result(self, org: str, result_id: str) -> View | None:
        return None

    def report(self, org: str, report_id: str) -> View | None:
        return None

    def critical_worklist(self, org: str, page: Page) -> list[View]:
        self.asked.append("critical")
        return []

    def bench_worklist(self, org: str, bench: str, page: Page) -> list[View]:
        return []


class FakeRedis(Redis):  # type: ignore[type-arg]
    """Holds values in a dict; never connects."""

    def __init__(self, values: dict[str, Any]) -> None:
        super().__init__()
        self.values = {k: json.dumps(v).encode() for k, v in values.items()}

    def get(self, name: Any) -> bytes | None:
        return self.values.get(name)


def test_a_read_model_of_another_organization_is_not_an_answer() -> None:
    fallback = FakeReads()
    cached = {"id": "p-1", "organization_id": "lab-b", "mrn": "M1", "source": "redis"}
    reads = RedisReadModels(FakeRedis({"patient:p-1": cached}), fallback)
    assert reads.patient("lab-a", "p-1") == {
        "id": "p-1",
        "organization_id": "lab-a",
        "source": "postgres",
    }
    assert reads.patient("lab-b", "p-1")["source"] == "redis"  # type: ignore[index]


def test_worklists_come_from_redis_when_the_cache_keeps_them() -> None:
    fallback = FakeReads()
    items = [{"critical_id": str(n)} for n in range(5)]
    reads = RedisReadModels(FakeRedis({"worklist:critical:lab-a": items}), fallback)
    assert reads.critical_worklist("lab-a", Page(limit=2, offset=2)) == items[2:4]
    assert reads.critical_worklist("lab-b", Page()) == []
    assert fallback.asked == ["critical"]  # lab-b's came from Postgres


def test_views_leave_secrets_out() -> None:
    patient = patient_view(
        {
            "id": "p",
            "mobile": "+919876543210",
            "aadhaar_token": "gAAAA",
            "aadhaar_last4": "2346",
            "email": "a@b.in",
            "duplicate_key": "k",
        }
    )
    assert "aadhaar_token" not in patient
    assert "duplicate_key" not in patient
    assert "+919876543210" not in json.dumps(patient)
    assert patient["aadhaar_masked"].endswith("2346")
    report = report_view({"versions": [{"deliveries": [{"destination": "+919876543210"}]}]})
    assert "+919876543210" not in json.dumps(report)


def test_a_clinician_reads_the_orders_they_placed_and_no_others() -> None:
    reads = FakeReads(
        {
            "o-mine": {"organization_id": "lab-a", "ordering_provider_id": "dr-1"},
            "o-other": {"organization_id": "lab-a", "ordering_provider_id": "dr-2"},
            "o-none": {"organization_id": "lab-a"},
        }
    )
    dr1 = Principal("dr-1", "lab-a", frozenset({"clinician"}))
    assert may_read_order(reads, dr1, "o-mine")
    assert not may_read_order(reads, dr1, "o-other")
    assert not may_read_order(reads, dr1, "o-none")
    assert not may_read_order(reads, Principal("dr-1", "lab-b", frozenset({"clinician"})), "o-mine")
    assert may_read_order(reads, Principal("t", "lab-a", frozenset({"technologist"})), "o-other")


def test_an_order_view_masks_the_clinicians_contact() -> None:
    from infra.http.reads.views import order_view

    for contact, masked in (("+919876543210", "3210"), ("a.rao@wards.test.lis", "a***@")):
        view = order_view({"id": "o1", "clinician_contact": contact, "samples": []})
        assert "clinician_contact" not in view
        assert contact not in json.dumps(view)
        assert masked in view["ordering_clinician_contact_masked"]
    assert (
        order_view({"id": "o1", "clinician_contact": None})["ordering_clinician_contact_masked"]
        is None
    )


def test_a_patient_view_leaves_the_aadhaar_token_and_digests_out() -> None:
    from infra.http.reads.views import patient_view

    view = patient_view(
        {"id": "p1", "aadhaar_token": "tok", "aadhaar_index": "digest", "duplicate_key": "dk",
         "aadhaar_last4": "1234", "mobile": "+919876543210"}
    )  # fmt: skip
    assert not {"aadhaar_token", "aadhaar_index", "duplicate_key", "mobile"} & set(view)
    assert view["aadhaar_masked"].endswith("1234")
