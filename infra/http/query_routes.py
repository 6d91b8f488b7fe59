"""What lab staff and clinicians read: patients, orders (with samples and results), samples
(with their timeline), results, reports (JSON and the rendered document), and the critical and
bench worklists. Another organization's id is simply not found (404), guessed or not.

Clinicians read only their own patients' orders, results and reports: an order is theirs when
its ``ordering_provider_id`` is their user id (anything else, including an order without one,
is not found for them)."""

# No "from __future__ import annotations": FastAPI resolves the dependency aliases defined
# inside the router functions from the real annotation objects.
from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query
from fastapi.responses import PlainTextResponse

from domains.shared.errors import NotFound
from infra.http.auth import Principal
from infra.http.context import ApiContext, authorized, problem_responses
from infra.http.models import ID_PATTERN
from infra.http.reads.ports import Page, PatientQuery, ReadModels, View

STAFF = ("front_desk", "phlebotomist", "technologist", "pathologist", "admin")
BENCH_STAFF = ("technologist", "pathologist", "admin")
Id = Annotated[str, Path(pattern=ID_PATTERN, max_length=64)]
Limit = Annotated[int, Query(ge=1, le=100)]
Offset = Annotated[int, Query(ge=0, le=10_000)]
Text = Annotated[str | None, Query(min_length=1, max_length=128, pattern=r"^[^\x00]*$")]


def page_of(items: list[View], limit: int, offset: int) -> dict[str, Any]:
    more = len(items) == limit
    return {
        "items": items,
        "limit": limit,
        "offset": offset,
        "next_offset": offset + limit if more else None,
    }


def may_read_order(reads: ReadModels, principal: Principal, order_id: str) -> bool:
    """Whether a clinician may read this order's data (staff may read the organization's)."""
    if not principal.roles.isdisjoint(STAFF):
        return True
    order = reads.order(principal.organization_id, order_id)
    return order is not None and order.get("ordering_provider_id") == principal.user_id


def _found(view: View | None, kind: str, id_: str) -> View:
    if view is None:
        raise NotFound(kind, id_)
    return view


def query_router(ctx: ApiContext) -> APIRouter:
    router = APIRouter(
        prefix="/api/v1", tags=["queries"], responses=problem_responses(401, 403, 404, 422, 429)
    )
    reads = ctx.reads
    staff = Annotated[Principal, Depends(authorized(ctx, STAFF))]
    reader = Annotated[Principal, Depends(authorized(ctx, (*STAFF, "clinician")))]
    bench_staff = Annotated[Principal, Depends(authorized(ctx, BENCH_STAFF))]

    @router.get("/patients/{patient_id}", summary="A patient by id")
    async def get_patient(patient_id: Id, who: staff) -> View:
        view = await ctx.in_thread(reads.patient, who.organization_id, patient_id)
        return _found(view, "Patient", patient_id)

    @router.get("/patients", summary="Find patients by MRN, mobile, name (+ date of birth)")
    async def find_patients(
        who: staff,
        mrn: Text = None,
        mobile: Text = None,
        name: Text = None,
        date_of_birth: date | None = None,
        limit: Limit = 20,
        offset: Offset = 0,
    ) -> dict[str, Any]:
        query = PatientQuery(mrn=mrn, mobile=mobile, name=name, date_of_birth=date_of_birth)
        items = await ctx.in_thread(
            reads.search_patients, who.organization_id, query, Page(limit, offset)
        )
        return page_of(items, limit, offset)

    @router.get("/orders/{order_id}", summary="An order with its samples and results")
    async def get_order(order_id: Id, who: reader) -> View:
        def read() -> View | None:
            view = reads.order(who.organization_id, order_id)
            return view if view and may_read_order(reads, who, order_id) else None

        return _found(await ctx.in_thread(read), "Order", order_id)

    @router.get("/samples/{sample_id}", summary="A sample with its timeline (who, what, when)")
    async def get_sample(sample_id: Id, who: staff) -> View:
        view = await ctx.in_thread(reads.sample, who.organization_id, sample_id)
        return _found(view, "Sample", sample_id)

    @router.get("/results/{result_id}", summary="A result with its critical value episodes")
    async def get_result(result_id: Id, who: reader) -> View:
        def read() -> View | None:
            view = reads.result(who.organization_id, result_id)
            return view if view and may_read_order(reads, who, view["order_id"]) else None

        return _found(await ctx.in_thread(read), "Result", result_id)

    @router.get("/reports/{report_id}", summary="A report: every version, structured")
    async def get_report(report_id: Id, who: reader) -> View:
        def read() -> View | None:
            view = reads.report(who.organization_id, report_id)
            return view if view and may_read_order(reads, who, view["order_id"]) else None

        return _found(await ctx.in_thread(read), "Report", report_id)

    @router.get(
        "/reports/{report_id}/document",
        summary="A report version as rendered (text); the latest by default",
        response_class=PlainTextResponse,
    )
    async def get_report_document(
        report_id: Id, who: reader, version: Annotated[int | None, Query(ge=1, le=1000)] = None
    ) -> PlainTextResponse:
        report = await get_report(report_id, who)
        versions = report["versions"]
        chosen = (
            versions[-1]
            if version is None
            else next((v for v in versions if v["report_version"] == version), None)
        )
        if chosen is None:
            raise NotFound("Report version", f"{report_id} v{version}")
        return PlainTextResponse(chosen["document_text"])

    @router.get("/worklists/critical-values", summary="Critical values awaiting acknowledgement")
    async def critical_worklist(
        who: reader, limit: Limit = 20, offset: Offset = 0
    ) -> dict[str, Any]:
        def read() -> list[View]:
            items = reads.critical_worklist(who.organization_id, Page(limit, offset))
            return [i for i in items if may_read_order(reads, who, i["order_id"])]

        return page_of(await ctx.in_thread(read), limit, offset)

    @router.get("/worklists/benches/{bench}", summary="Samples on a bench awaiting results")
    async def bench_worklist(
        bench: Id, who: bench_staff, limit: Limit = 20, offset: Offset = 0
    ) -> dict[str, Any]:
        items = await ctx.in_thread(
            reads.bench_worklist, who.organization_id, bench, Page(limit, offset)
        )
        return page_of(items, limit, offset)

    return router
