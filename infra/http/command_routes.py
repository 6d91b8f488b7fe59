"""One generic endpoint per row of the command table: authenticate, check the role, build the
command with the caller's identity and the request's ids, send it through the bus."""

from __future__ import annotations

import inspect
from functools import partial
from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, Header, Path, Request
from fastapi.responses import JSONResponse

from domains.shared.bus import MessageBus, send_retrying_races
from domains.shared.errors import DomainError, NotFound
from domains.shared.ids import new_id
from infra.http.auth import Forbidden, Principal
from infra.http.command_table import ROUTES, CommandRoute
from infra.http.context import ApiContext, authorized, problem_responses
from infra.http.idempotency import fingerprint
from infra.http.models import ID_PATTERN, CommandBody, bound_fields, request_model
from infra.http.problems import ApiProblem
from infra.http.query_routes import STAFF, may_read_order
from infra.http.reads.ports import ReadModels
from infra.http.validation import check_id_header, check_no_nul


def command_router(ctx: ApiContext) -> APIRouter:
    router = APIRouter(prefix="/api/v1", tags=["commands"])
    for route in ROUTES:
        router.add_api_route(
            route.path,
            _endpoint(ctx, route),
            methods=[route.method],
            status_code=route.status_code,
            name=route.name,
            summary=_summary(route),
            operation_id=route.name,
            responses=problem_responses(400, 401, 403, 404, 409, 413, 422, 429),
        )
    return router


def _summary(route: CommandRoute) -> str:
    return f"{route.name} (roles: {', '.join(route.roles)})"


def _endpoint(ctx: ApiContext, route: CommandRoute) -> Any:
    model = request_model(route)
    bound = bound_fields(route)
    caller = authorized(ctx, route.roles)
    body_required = any(f.is_required() for f in model.model_fields.values())

    async def endpoint(**kwargs: Any) -> JSONResponse:
        request: Request = kwargs.pop("request")
        principal: Principal = kwargs.pop("principal")
        key: str | None = kwargs.pop("idempotency_key")
        body: CommandBody | None = kwargs.pop("body")
        path = {name: kwargs[name] for name in route.path_params}
        fields = _fields(body, model)
        check_no_nul(fields)
        identity = _identity(route, principal, body, fields, bound)
        if principal.roles.isdisjoint(STAFF):
            for name in route.server_time_for_clinicians:
                if fields.get(name) is not None:
                    raise Forbidden(f"{name} is the server's time of your acknowledgement")
            if route.clinicians_own_results:
                await ctx.in_thread(_their_result, ctx.reads, principal, path["result_id"])
        if key is not None:
            check_id_header("Idempotency-Key", key)
        command = route.command(
            **fields,
            **path,
            **identity,
            command_id=key or new_id(),
            correlation_id=request.state.correlation_id,
        )
        print_ = fingerprint(principal.user_id, route.name, path, _jsonable(body)) if key else ""
        if key is not None:
            await ctx.idempotency.claim(principal.organization_id, key, print_)
        try:
            outcome = await ctx.in_thread(_handle, ctx.bus, command, key is None)
        except DomainError:
            if key is not None:
                await ctx.idempotency.release(principal.organization_id, key, print_)
            raise
        ctx.metrics.command_handled(route.name)
        return JSONResponse(
            outcome, status_code=route.status_code, headers={"X-Command-ID": command.command_id}
        )

    params = [
        inspect.Parameter("request", inspect.Parameter.KEYWORD_ONLY, annotation=Request),
        inspect.Parameter(
            "principal",
            inspect.Parameter.KEYWORD_ONLY,
            annotation=Annotated[Principal, Depends(caller)],
        ),
        *(
            inspect.Parameter(
                name,
                inspect.Parameter.KEYWORD_ONLY,
                annotation=Annotated[str, Path(pattern=ID_PATTERN, max_length=64)],
            )
            for name in route.path_params
        ),
        inspect.Parameter(
            "idempotency_key",
            inspect.Parameter.KEYWORD_ONLY,
            annotation=Annotated[
                str | None,
                Header(
                    alias="Idempotency-Key",
                    max_length=128,
                    description="Becomes the command id: a retry returns the first outcome.",
                ),
            ],
            default=None,
        ),
        inspect.Parameter(
            "body",
            inspect.Parameter.KEYWORD_ONLY,
            annotation=Annotated[model, Body()]
            if body_required
            else Annotated[model | None, Body()],
            **({} if body_required else {"default": None}),
        ),
    ]
    endpoint.__signature__ = inspect.Signature(params)  # type: ignore[attr-defined]
    endpoint.__name__ = route.name
    endpoint.__doc__ = (route.command.__doc__ or "").split("\n\n")[0] if _documented(route) else ""
    return endpoint


def _their_result(reads: ReadModels, principal: Principal, result_id: str) -> None:
    """A clinician's command about a result: only one on an order they placed; any other is
    answered as a read of it would be (404), which tells nothing about another's patient."""
    result = reads.result(principal.organization_id, result_id)
    if result is None or not may_read_order(reads, principal, str(result["order_id"])):
        raise NotFound("Result", result_id)


def _handle(bus: MessageBus, command: Any, fresh_id: bool) -> dict[str, Any]:
    # Commands carry no expected version: one that lost a race with another writer (a
    # processor routing the same sample, a timer escalating the same result) wrote nothing,
    # and is decided again on what the winner left; 409 only if it keeps losing.
    outcome: dict[str, Any] = send_retrying_races(partial(bus.handle, fresh_id=fresh_id), command)
    return outcome


def _documented(route: CommandRoute) -> bool:
    doc = route.command.__doc__ or ""
    return not doc.startswith(f"{route.name}(")  # not the dataclass's generated signature


def _fields(body: CommandBody | None, model: type[CommandBody]) -> dict[str, Any]:
    if body is None:
        body = model()
    return {
        name: getattr(body, name)
        for name in model.model_fields
        if name not in ("organization_id", "user_id")
    }


def _jsonable(body: CommandBody | None) -> dict[str, Any]:
    return {} if body is None else body.model_dump(mode="json", exclude_unset=True)


def _identity(
    route: CommandRoute,
    principal: Principal,
    body: CommandBody | None,
    fields: dict[str, Any],
    bound: set[str],
) -> dict[str, Any]:
    """The caller's identity, from the token only. A body may repeat it; naming anyone else is
    refused (403), not silently overwritten: the client believes something that is not so."""
    if body is not None and body.organization_id not in (None, principal.organization_id):
        raise Forbidden("the body names another organization; it comes from your token")
    if body is not None and body.user_id not in (None, principal.user_id):
        raise Forbidden("the body names another user; the acting user comes from your token")
    identity: dict[str, Any] = {
        "organization_id": principal.organization_id,
        "user_id": principal.user_id,
    }
    fixed = route.bind(principal, fields) if route.bind else {}
    for name in bound:
        sent = fields.pop(name, None)
        if name in fixed:
            if sent not in (None, fixed[name]):
                raise Forbidden(f"{name} is the caller ({principal.user_id}); it cannot be another")
            identity[name] = fixed[name]
        elif sent is not None:
            identity[name] = sent
        elif name not in fixed:
            raise ApiProblem(422, "Invalid input", f"{name}: is required", field=name)
    return identity
