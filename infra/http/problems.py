"""Every error the API returns is ``application/problem+json`` (RFC 9457), mapped here, in one
place, from the domain's small error hierarchy and the API's own refusals."""

from __future__ import annotations

from typing import Any

import structlog
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from domains.shared.bus import UnknownCommand
from domains.shared.errors import (
    ConcurrencyConflict,
    Conflict,
    DomainError,
    IllegalTransition,
    InvalidInput,
    NotFound,
    PermissionDenied,
)
from infra.http.auth import Forbidden, Unauthenticated

PROBLEM_JSON = "application/problem+json"
log = structlog.get_logger(__name__)


class ApiProblem(Exception):
    """A refusal decided by the API itself (bad header, oversized body, rate limit...)."""

    def __init__(
        self,
        status: int,
        title: str,
        detail: str,
        *,
        field: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(detail)
        self.status, self.title, self.detail = status, title, detail
        self.field, self.headers = field, headers or {}


def problem(
    status: int,
    title: str,
    detail: str,
    *,
    headers: dict[str, str] | None = None,
    **extra: Any,
) -> JSONResponse:
    body = {"type": "about:blank", "title": title, "status": status, "detail": detail}
    body.update({k: v for k, v in extra.items() if v is not None})
    return JSONResponse(body, status_code=status, media_type=PROBLEM_JSON, headers=headers)


def domain_problem(exc: DomainError) -> JSONResponse:
    """The one table from domain errors to HTTP answers."""
    code = exc.code
    if isinstance(exc, InvalidInput):
        return problem(
            422, "Invalid input", str(exc), code=code, field=exc.field, reason=exc.reason
        )
    if isinstance(exc, NotFound):
        return problem(404, "Not found", str(exc), code=code)
    if isinstance(exc, PermissionDenied):
        return problem(403, "Forbidden", str(exc), code=code)
    if isinstance(exc, ConcurrencyConflict):
        return problem(409, "Changed concurrently", str(exc), code=code)
    if isinstance(exc, IllegalTransition):
        return problem(409, "Illegal transition", str(exc), code=code)
    if isinstance(exc, Conflict):
        details: dict[str, Any] = dict(exc.details())
        return problem(409, "Conflict", str(exc), code=code, **details)
    return problem(400, "Refused", str(exc), code=code)


def _validation_problem(exc: RequestValidationError) -> JSONResponse:
    errors = []
    for error in exc.errors():
        location = [str(part) for part in error.get("loc", ())]
        if error.get("type") == "json_invalid":
            return problem(400, "Malformed JSON", "the request body is not valid JSON")
        # ("body", "recipients", 0, "channel") -> "recipients.0.channel"
        where = ".".join(location[1:]) if len(location) > 1 else ".".join(location)
        errors.append(
            {"field": where, "in": location[0] if location else "", "reason": error["msg"]}
        )
    first = errors[0] if errors else {"field": None, "reason": "invalid request"}
    return problem(
        422,
        "Invalid input",
        f"{first['field']}: {first['reason']}",
        field=first["field"],
        reason=first["reason"],
        errors=errors,
    )


def install(app: FastAPI) -> None:
    async def on_domain(_: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, DomainError)
        return domain_problem(exc)

    async def on_validation(_: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, RequestValidationError)
        return _validation_problem(exc)

    async def on_api(_: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, ApiProblem)
        return problem(exc.status, exc.title, exc.detail, field=exc.field, headers=exc.headers)

    async def on_unauthenticated(_: Request, exc: Exception) -> JSONResponse:
        return problem(
            401, "Unauthenticated", str(exc), headers={"WWW-Authenticate": 'Bearer realm="lis"'}
        )

    async def on_forbidden(_: Request, exc: Exception) -> JSONResponse:
        return problem(403, "Forbidden", str(exc))

    async def on_http(_: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, StarletteHTTPException)
        return problem(
            exc.status_code,
            _title(exc.status_code),
            str(exc.detail),
            headers=dict(exc.headers or {}),
        )

    async def on_unknown_command(_: Request, exc: Exception) -> JSONResponse:
        return problem(501, "Not implemented", f"no handler for {exc}")

    async def on_bug(request: Request, exc: Exception) -> JSONResponse:
        # No exception text in the answer: it may quote a value (PHI) from deep down.
        log.error("http.unhandled", path=request.url.path, error=type(exc).__name__)
        return problem(500, "Internal error", "the request failed; it has been logged")

    app.add_exception_handler(DomainError, on_domain)
    app.add_exception_handler(RequestValidationError, on_validation)
    app.add_exception_handler(ApiProblem, on_api)
    app.add_exception_handler(Unauthenticated, on_unauthenticated)
    app.add_exception_handler(Forbidden, on_forbidden)
    app.add_exception_handler(StarletteHTTPException, on_http)
    app.add_exception_handler(UnknownCommand, on_unknown_command)
    app.add_exception_handler(Exception, on_bug)


def _title(status: int) -> str:
    from http import HTTPStatus

    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"
