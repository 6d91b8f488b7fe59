"""FHIR R4 documents on the real stack: a simulated lab day (criticals, amended and re-signed
reports) goes through the bus, the relay and Kafka to the fhir-documents worker; every signed
version's Bundle is validated by the HAPI FHIR validator (R4 core) with zero errors, and served
through the FHIR router (JSON, OperationOutcome for what is not there or not served)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Engine, func, select

from domains.catalog.model import load_catalog
from infra.bootstrap import bootstrap, build_api
from infra.config.settings import Settings
from infra.db.aggregates import OrderRow, ReportRow
from infra.db.engine import make_engine
from infra.db.interop import FhirDocumentRow
from infra.fhir.documents import FhirDocumentStore
from infra.http.auth import mint_token
from infra.http.fhir import fhir_router
from infra.simulation.day import run_day
from tests.integration.hl7.conftest import wait_for
from tests.integration.http.conftest import serving
from tests.integration.lab import LAB_PROCESSORS, lab_running, own_namespace
from tests.interop.hapi import HapiValidator

pytestmark = pytest.mark.integration
ORG = "org-fhir"
OUT = Path(__file__).resolve().parents[3] / "build" / "interop"


def signed_versions(engine: Engine) -> int:
    with engine.connect() as conn:
        reports = conn.execute(select(ReportRow.data)).scalars().all()
    return sum(1 for r in reports for v in r["versions"] if v["signed_by"])


def stored(engine: Engine) -> int:
    with engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(FhirDocumentRow)).scalar_one()


@dataclass(frozen=True)
class Day:
    settings: Settings
    engine: Engine
    bundles: list[dict[str, Any]]


@pytest.fixture(scope="module")
def lab_day(stack: Settings, module_database_url: str) -> Iterator[Day]:
    """A simulated day with the lab's processors and the fhir-documents worker running in a
    namespace of its own; its signed reports as the worker stored them."""
    with own_namespace(stack, module_database_url, "fhir") as settings:
        engine = make_engine(settings.database_url)
        with lab_running(settings, (*LAB_PROCESSORS, "fhir-documents")) as lab:
            report = run_day(
                bootstrap(settings), load_catalog(), organization_id=ORG, patients=12, seed=4,
                today=date.today(), critical_rate=0.3,
            )  # fmt: skip
            assert report.criticals > 0
            lab.settle()
            wait_for(lambda: stored(engine) == signed_versions(engine), 120)
        yield Day(settings, engine, FhirDocumentStore(engine).all_bundles(ORG))
        engine.dispose()


@pytest.fixture
def day(lab_day: Day) -> list[dict[str, Any]]:
    return lab_day.bundles


def test_every_bundle_of_a_simulated_day_passes_the_hapi_fhir_validator(
    day: list[dict[str, Any]], hapi: HapiValidator
) -> None:
    amended = [b for b in day if _resource(b, "DiagnosticReport")["status"] == "amended"]
    assert len(day) >= 12
    assert amended, "the day has amended, re-signed reports"
    checked = hapi.assert_valid({f"bundle-{n:03}.json": json.dumps(b) for n, b in enumerate(day)})
    OUT.mkdir(parents=True, exist_ok=True)  # the validator's output, for the issue note
    (OUT / "hapi-fhir-day.jsonl").write_text(
        "\n".join(json.dumps(c.__dict__) for c in checked) + "\n", encoding="utf-8"
    )
    critical = next(b for b in day if _flags(b) & {"LL", "HH"})
    (OUT / "critical-bundle.json").write_text(json.dumps(critical, indent=2), encoding="utf-8")


def test_a_bundle_is_a_document_that_follows_the_lab_report_shape(
    day: list[dict[str, Any]],
) -> None:
    bundle = next(b for b in day if _flags(b) & {"LL", "HH"})
    kinds = [e["resource"]["resourceType"] for e in bundle["entry"]]
    assert bundle["type"] == "document"
    assert kinds[0] == "Composition"
    assert {"Patient", "Organization", "Practitioner", "DiagnosticReport", "ServiceRequest",
            "Specimen", "Observation"} <= set(kinds)  # fmt: skip
    patient = _resource(bundle, "Patient")
    assert patient["identifier"][0]["type"]["coding"][0]["code"] == "MR"
    assert "aadhaar" not in json.dumps(patient).lower()
    # the signer is the signing user's id, whatever name the report prints
    author = _resource(bundle, "Practitioner")
    assert author["identifier"][0]["system"].endswith("/user")
    assert author["identifier"][0]["value"]
    observation = next(
        e["resource"] for e in bundle["entry"]
        if e["resource"]["resourceType"] == "Observation"
        and e["resource"].get("interpretation", [{}])[0]["coding"][0]["code"] in ("LL", "HH")
    )  # fmt: skip
    assert observation["code"]["coding"][0]["system"] == "http://loinc.org"
    quantity = observation["valueQuantity"]
    assert quantity["system"] == "http://unitsofmeasure.org"
    assert quantity["code"] == quantity["unit"]
    urls = {e["fullUrl"] for e in bundle["entry"]}
    report = _resource(bundle, "DiagnosticReport")
    assert {r["reference"] for r in report["result"]} <= urls  # every reference resolves inside


def test_the_fhir_router_serves_bundles_and_reports_of_the_callers_organization_only(
    lab_day: Day, day: list[dict[str, Any]]
) -> None:
    store = FhirDocumentStore(lab_day.engine)
    caller = {"org": ORG}
    app = FastAPI()
    app.include_router(fhir_router(lambda: store, lambda: caller["org"]))
    client = TestClient(app)
    report = _resource(day[-1], "DiagnosticReport")
    answer = client.get(f"/fhir/Bundle/{report['id']}", params={"_format": "json"})
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("application/fhir+json")
    assert answer.json()["type"] == "document"
    answer = client.get(f"/fhir/DiagnosticReport/{report['id']}")
    assert answer.status_code == 200
    assert answer.json()["resourceType"] == "DiagnosticReport"
    assert answer.json()["id"] == report["id"]
    history = client.get(f"/fhir/Bundle/{report['id']}/_history/1")
    assert history.status_code == 200
    xml = client.get(f"/fhir/Bundle/{report['id']}", params={"_format": "xml"})
    assert xml.status_code == 406
    assert xml.json()["resourceType"] == "OperationOutcome"
    caller["org"] = "another-org"
    hidden = client.get(f"/fhir/Bundle/{report['id']}")
    assert hidden.status_code == 404
    assert hidden.json()["issue"][0]["code"] == "not-found"


def _resource(bundle: dict[str, Any], kind: str) -> dict[str, Any]:
    return next(e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == kind)


def _flags(bundle: dict[str, Any]) -> set[str]:
    return {
        c["code"]
        for e in bundle["entry"]
        for i in e["resource"].get("interpretation", [])
        for c in i["coding"]
    }


def test_the_api_serves_fhir_to_the_reports_readers_with_the_token_identity(
    lab_day: Day, day: list[dict[str, Any]]
) -> None:
    settings = lab_day.settings
    secret = settings.jwt_secret.get_secret_value()
    report = _resource(day[-1], "DiagnosticReport")
    with lab_day.engine.connect() as conn:
        order_id = conn.scalar(select(ReportRow.order_id).where(ReportRow.id == report["id"]))
        provider = conn.scalar(
            select(OrderRow.data["provider_id"].astext).where(OrderRow.id == order_id)
        )
    assert provider, "the simulated order names its clinician"

    def get(path: str, user: str, roles: list[str], org: str = ORG) -> httpx.Response:
        token = mint_token(secret, user_id=user, organization_id=org, roles=roles)
        return httpx.get(f"{url}{path}", headers={"Authorization": f"Bearer {token}"})

    with serving(build_api(settings)) as url:
        path = f"/fhir/Bundle/{report['id']}"
        staff = get(path, "dr.pillai", ["pathologist"])
        assert (staff.status_code, staff.json()["type"]) == (200, "document")
        assert staff.headers["content-type"].startswith("application/fhir+json")
        own = get(f"/fhir/DiagnosticReport/{report['id']}", provider, ["clinician"])
        assert own.status_code == 200, own.text
        assert own.json()["id"] == report["id"]
        other = get(path, "dr.someone-else", ["clinician"])
        assert (other.status_code, other.json()["resourceType"]) == (404, "OperationOutcome")
        tenant = get(path, "dr.pillai", ["pathologist"], org="another-org")
        assert tenant.status_code == 404
        assert httpx.get(f"{url}{path}").status_code == 401
        assert "/fhir/Bundle/{report_id}" in httpx.get(f"{url}/openapi.json").json()["paths"]
