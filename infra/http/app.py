"""The FastAPI application: commands and queries under ``/api/v1``, sessions under
``/api/v1/auth``, ``/health`` and ``/metrics``; OpenAPI at ``/openapi.json``, docs at ``/docs``."""

# No "from __future__ import annotations": FastAPI resolves the dependency aliases defined
# inside the router functions from the real annotation objects.
from typing import Annotated, Any

from fastapi import Depends, FastAPI, Request, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from infra.http import problems
from infra.http.auth import ROLES, Principal, Unauthenticated
from infra.http.command_routes import command_router
from infra.http.context import ApiContext, authorized, problem_responses
from infra.http.fhir import fhir_router
from infra.http.metrics import CONTENT_TYPE
from infra.http.middleware import RequestEnvelope
from infra.http.models import ID_PATTERN
from infra.http.query_routes import STAFF, may_read_order, query_router
from infra.http.sessions import IssuedTokens

DESCRIPTION = """
The laboratory information system's API for lab staff and clinicians.

* **Identity** comes from the bearer token only (JWT: `sub` = user, `org` = organization,
  `roles`). A body naming another organization or user is refused.
* **Roles**: front_desk (patients, orders), phlebotomist (collect), technologist (receive,
  reject, route, enter), pathologist (verify, amend, sign, reports), clinician (their own
  patients' results and reports; acknowledge critical calls), admin (sessions, reads).
* `X-Correlation-ID` is taken (or made) and returned; it becomes the events' correlation id.
  `Idempotency-Key` becomes the command id: a retry returns the first outcome.
* Errors are `application/problem+json` with the field and the reason.
"""


class RefreshRequest(BaseModel):
    refresh_token: str = Field(min_length=3, max_length=256)


class TokenResponse(BaseModel):
    session_id: str
    access_token: str
    refresh_token: str
    token_type: str = "Bearer"
    expires_in: int


def _tokens(issued: IssuedTokens) -> TokenResponse:
    return TokenResponse(
        session_id=issued.session_id,
        access_token=issued.access_token,
        refresh_token=issued.refresh_token,
        expires_in=issued.expires_in,
    )


def create_app(ctx: ApiContext) -> FastAPI:
    app = FastAPI(title="LIS API", version="1", description=DESCRIPTION)
    problems.install(app)
    app.add_middleware(RequestEnvelope, metrics=ctx.metrics, max_body_bytes=ctx.max_body_bytes)
    # The routes themselves, not included routers: matching through an included router cost
    # a measurable share of each request's CPU (FastAPI's effective-route layer).
    app.router.routes.extend(command_router(ctx).routes)
    app.router.routes.extend(query_router(ctx).routes)
    _auth_routes(app, ctx)
    _fhir_routes(app, ctx)
    _operations(app, ctx)
    app.state.context = ctx
    return app


def _auth_routes(app: FastAPI, ctx: ApiContext) -> None:
    anyone = Annotated[Principal, Depends(authorized(ctx, ROLES))]
    admin = Annotated[Principal, Depends(authorized(ctx, ("admin",)))]
    errors = problem_responses(401, 403, 404, 422, 429)

    @app.post(
        "/api/v1/auth/sessions",
        tags=["auth"],
        status_code=201,
        responses=errors,
        summary="Start a session: an access token naming it, and a refresh token",
    )
    async def start_session(request: Request, who: anyone) -> TokenResponse:
        await ctx.guard.limit_token_endpoint(request)
        return _tokens(await ctx.sessions.start(who))

    @app.post(
        "/api/v1/auth/refresh",
        tags=["auth"],
        responses=errors,
        summary="A new access token (and refresh token) for a live session",
    )
    async def refresh(request: Request, body: RefreshRequest) -> TokenResponse:
        await ctx.guard.limit_token_endpoint(request)
        return _tokens(await ctx.sessions.refresh(body.refresh_token))

    @app.delete(
        "/api/v1/auth/sessions/current",
        tags=["auth"],
        status_code=204,
        responses=errors,
        summary="Sign out: end this token's session",
    )
    async def end_own_session(who: anyone) -> Response:
        if who.session_id is None:
            raise Unauthenticated("this token has no session to end (it is not a session token)")
        await ctx.sessions.end(who.organization_id, who.session_id)
        return Response(status_code=204)

    @app.delete(
        "/api/v1/auth/sessions/{session_id}",
        tags=["auth"],
        status_code=204,
        responses=errors,
        summary="Revoke a session of your organization (admin)",
    )
    async def revoke_session(session_id: str, who: admin) -> Response:
        import re

        if not re.fullmatch(ID_PATTERN, session_id) or not await ctx.sessions.end(
            who.organization_id, session_id
        ):
            return problems.problem(404, "Not found", f"no session {session_id[:64]}")
        return Response(status_code=204)


def _fhir_routes(app: FastAPI, ctx: ApiContext) -> None:
    """``/fhir``: the FHIR documents of signed reports, for the same readers as the reports
    under ``/api/v1`` (staff of the organization; a clinician, their own patients' only)."""
    documents = ctx.fhir
    if documents is None:
        return
    reader = Annotated[Principal, Depends(authorized(ctx, (*STAFF, "clinician")))]

    async def organization(report_id: str, who: reader) -> str | None:
        def theirs() -> bool:
            view = ctx.reads.report(who.organization_id, report_id)
            return view is not None and may_read_order(ctx.reads, who, view["order_id"])

        if not who.roles.isdisjoint(STAFF) or await ctx.in_thread(theirs):
            return who.organization_id
        return None

    app.include_router(fhir_router(lambda: documents, organization))


def _operations(app: FastAPI, ctx: ApiContext) -> None:
    @app.get("/health", tags=["operations"], responses={503: {"description": "A part failed"}})
    async def health() -> JSONResponse:
        parts = await run_in_threadpool(ctx.health.run)
        body: dict[str, Any] = {
            "status": "ok" if all(p.ok for p in parts) else "failing",
            "parts": {p.name: {"ok": p.ok, "detail": p.detail, "ms": p.millis} for p in parts},
        }
        failing = [p.name for p in parts if not p.ok]
        if failing:
            return problems.problem(
                503,
                "Unavailable",
                f"not answering: {', '.join(failing)}",
                failing=failing,
                parts=body["parts"],
            )
        return JSONResponse(body)

    @app.get("/health/live", tags=["operations"], summary="The process answers (no checks)")
    async def live() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/metrics", tags=["operations"], response_class=Response)
    async def metrics() -> Response:
        text = await run_in_threadpool(ctx.metrics.exposition)
        return Response(text, media_type=CONTENT_TYPE)
