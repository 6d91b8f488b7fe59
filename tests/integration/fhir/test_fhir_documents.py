"""FHIR R4 documents on the real stack: a simulated lab day (criticals, amended and re-signed
reports) goes through the bus, the relay and Kafka to the fhir-documents worker; every signed
version's Bundle is validated by the HAPI FHIR validator (R4 core) with zero errors, and served
through the FHIR router (JSON, OperationOutcome for what is not there or not served)."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Engine, func, select

from domains.catalog.model import load_catalog
from domains.shared.bus import MessageBus
from infra.bootstrap import build_worker
from infra.config.settings import Settings
from infra.db.aggregates import ReportRow
from infra.db.interop import FhirDocumentRow
from infra.fhir.documents import FhirDocumentStore
from infra.http.fhir import fhir_router
from infra.simulation.day import run_day
from tests.integration.hl7.conftest import wait_for
from tests.interop.hapi import HapiValidator

pytestmark = pytest.mark.integration
ORG = "org-fhir"
OUT = Path(__file__).resolve().parents[3] / "build" / "interop"


@pytest.fixture
def documents_worker(stack: Settings, settings: Settings, relay: None) -> Iterator[None]:
    consumer = build_worker(settings, "fhir-documents")
    thread = threading.Thread(target=consumer.run, daemon=True)
    thread.start()
    yield
    consumer.stop()
    thread.join(timeout=30)


def signed_versions(engine: Engine) -> int:
    with engine.connect() as conn:
        reports = conn.execute(select(ReportRow.data)).scalars().all()
    return sum(1 for r in reports for v in r["versions"] if v["signed_by"])


def stored(engine: Engine) -> int:
    with engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(FhirDocumentRow)).scalar_one()


@pytest.fixture
def day(engine: Engine, bus: MessageBus, documents_worker: None) -> list[dict[str, Any]]:
    """A simulated day's signed reports, as the worker stored them."""
    report = run_day(
        bus, load_catalog(), organization_id=ORG, patients=12, seed=11, today=date.today(),
        critical_rate=0.3,
    )  # fmt: skip
    assert report.criticals > 0
    wait_for(lambda: stored(engine) == signed_versions(engine), 120)
    return FhirDocumentStore(engine).all_bundles(ORG)


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
    engine: Engine, day: list[dict[str, Any]]
) -> None:
    store = FhirDocumentStore(engine)
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
