"""The request envelope, as plain ASGI (no per-request task or buffering): the correlation id
(``X-Correlation-ID`` taken or made, bound to the logs, returned), the body size limit (413,
also for a body that lies about its length), and the request metrics by route template."""

from __future__ import annotations

import json
import time
from typing import Any

import structlog
from starlette.exceptions import HTTPException
from starlette.routing import Match
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from domains.shared.ids import new_id
from domains.shared.messages import MAX_ID_LENGTH
from infra.http.metrics import ApiMetrics
from infra.http.problems import PROBLEM_JSON

CORRELATION_HEADER = b"x-correlation-id"
# An oversized body up to this size is read and dropped before the 413, so the client gets the
# answer instead of a reset connection; a larger one is cut off.
DRAIN_LIMIT = 16 * 1024 * 1024


class RequestEnvelope:
    def __init__(self, app: ASGIApp, *, metrics: ApiMetrics, max_body_bytes: int) -> None:
        self.app, self.metrics, self.max_body_bytes = app, metrics, max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        began = time.perf_counter()
        headers = dict(scope["headers"])
        correlation = headers.get(CORRELATION_HEADER, b"").decode("latin-1")
        status = {"code": 500}

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                status["code"] = message["status"]
                message["headers"] = [
                    *message.get("headers", []),
                    (CORRELATION_HEADER, correlation.encode("latin-1")),
                ]
            await send(message)

        try:
            if correlation and not _valid_id(correlation):
                correlation = new_id()
                await _problem(
                    send_with_id,
                    400,
                    "Bad header",
                    f"X-Correlation-ID must be 1-{MAX_ID_LENGTH} printable "
                    "characters without whitespace",
                    field="X-Correlation-ID",
                )
                return
            correlation = correlation or new_id()
            scope.setdefault("state", {})["correlation_id"] = correlation
            structlog.contextvars.clear_contextvars()
            structlog.contextvars.bind_contextvars(correlation_id=correlation)
            declared = headers.get(b"content-length")
            if declared is not None and (
                not declared.isdigit() or int(declared) > self.max_body_bytes
            ):
                if declared.isdigit() and int(declared) <= DRAIN_LIMIT:
                    await _drain(receive)  # so the client, still sending, reads the answer
                await _problem(
                    send_with_id,
                    413,
                    "Payload too large",
                    f"the body may be at most {self.max_body_bytes} bytes",
                )
                return
            await self.app(scope, self._limited(receive), send_with_id)
        finally:
            self.metrics.observe(
                scope["method"], _route_of(scope), status["code"], time.perf_counter() - began
            )

    def _limited(self, receive: Receive) -> Receive:
        seen = 0

        async def limited() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.max_body_bytes:
                    # an HTTPException passes FastAPI's body reading as it is: 413, not 400
                    raise HTTPException(413, f"the body may be at most {self.max_body_bytes} bytes")
            return message

        return limited


async def _drain(receive: Receive) -> None:
    while True:
        message = await receive()
        if message["type"] != "http.request" or not message.get("more_body", False):
            return


def _valid_id(value: str) -> bool:
    return (
        0 < len(value) <= MAX_ID_LENGTH
        and value.isprintable()
        and not any(c.isspace() for c in value)
    )


def _route_of(scope: Scope) -> str:
    """The matched route's template: the id never becomes a label (unbounded series)."""
    route = scope.get("route")
    if route is not None:
        return str(getattr(route, "path", "unmatched"))
    app: Any = scope.get("app")
    for candidate in getattr(getattr(app, "router", None), "routes", []):
        match, _ = candidate.matches(scope)
        if match is Match.FULL:
            return str(getattr(candidate, "path", "unmatched"))
    return "unmatched"


async def _problem(send: Send, status: int, title: str, detail: str, **extra: str) -> None:
    body = json.dumps(
        {"type": "about:blank", "title": title, "status": status, "detail": detail, **extra}
    ).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", PROBLEM_JSON.encode()),
                (b"content-length", str(len(body)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
