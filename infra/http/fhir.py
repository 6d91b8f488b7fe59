"""The FHIR read API, as a router the API application mounts (at ``/fhir``):

    GET /fhir/Bundle/{report_id}             the latest signed version's document Bundle
    GET /fhir/Bundle/{report_id}/_history/{version}
    GET /fhir/DiagnosticReport/{report_id}   its DiagnosticReport

``_format`` may be json, application/json or application/fhir+json (XML is not served: 406);
errors are OperationOutcomes. The caller's organization comes from a dependency the app passes
in (its token identity); it answers None for a report the caller may not read (another
organization's, or, for a clinician, another clinician's patient), which is simply not found.
"""

# No "from __future__ import annotations": FastAPI reads the real annotation objects.
from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query
from fastapi.responses import JSONResponse

from infra.fhir.documents import FhirDocumentStore

FHIR_JSON = "application/fhir+json"
JSON_FORMATS = ("json", "application/json", FHIR_JSON)


def fhir_router(
    store: Callable[[], FhirDocumentStore], organization: Callable[..., Any]
) -> APIRouter:
    router = APIRouter(prefix="/fhir", tags=["fhir"])
    Org = Annotated[str | None, Depends(organization)]  # noqa: N806
    Store = Annotated[FhirDocumentStore, Depends(store)]  # noqa: N806
    Format = Annotated[str | None, Query(alias="_format")]  # noqa: N806

    @router.get("/Bundle/{report_id}")
    def bundle(report_id: str, org: Org, documents: Store, fmt: Format = None) -> JSONResponse:
        found = documents.bundle(org, report_id) if org else None
        return _answer(found, fmt, f"Bundle/{report_id}")

    @router.get("/Bundle/{report_id}/_history/{version}")
    def bundle_version(
        report_id: str, version: int, org: Org, documents: Store, fmt: Format = None
    ) -> JSONResponse:
        found = documents.bundle(org, report_id, version) if org else None
        return _answer(found, fmt, f"Bundle/{report_id}/_history/{version}")

    @router.get("/DiagnosticReport/{report_id}")
    def diagnostic_report(
        report_id: str, org: Org, documents: Store, fmt: Format = None
    ) -> JSONResponse:
        found = documents.bundle(org, report_id) if org else None
        report = None
        if found is not None:
            report = next(
                e["resource"] for e in found["entry"]
                if e["resource"]["resourceType"] == "DiagnosticReport"
            )  # fmt: skip
        return _answer(report, fmt, f"DiagnosticReport/{report_id}")

    return router


def _answer(resource: dict[str, Any] | None, fmt: str | None, what: str) -> JSONResponse:
    if fmt is not None and fmt not in JSON_FORMATS:
        return _outcome(406, "not-supported", f"_format {fmt!r}: only JSON is served")
    if resource is None:
        return _outcome(404, "not-found", f"{what} is not known (or not signed yet)")
    return JSONResponse(resource, media_type=FHIR_JSON)


def _outcome(status: int, code: str, text: str) -> JSONResponse:
    body = {
        "resourceType": "OperationOutcome",
        "issue": [{"severity": "error", "code": code, "diagnostics": text}],
    }
    return JSONResponse(body, status_code=status, media_type=FHIR_JSON)
