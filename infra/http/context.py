"""What the API's routes share, assembled once by the composition root."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Annotated, Any, TypeVar

from anyio import CapacityLimiter, to_thread
from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel
from redis.asyncio import Redis

from domains.shared.bus import MessageBus
from infra.fhir.documents import FhirDocumentStore
from infra.http.auth import Principal
from infra.http.guard import Guard, require
from infra.http.health import HealthChecks
from infra.http.idempotency import IdempotencyKeys
from infra.http.metrics import ApiMetrics
from infra.http.reads.ports import ReadModels
from infra.http.sessions import SessionStore

T = TypeVar("T")
bearer = HTTPBearer(auto_error=False, description="JWT: HS256 (local) or RS256 (JWKS)")


@dataclass
class ApiContext:
    bus: MessageBus
    guard: Guard
    idempotency: IdempotencyKeys
    sessions: SessionStore
    reads: ReadModels
    metrics: ApiMetrics
    health: HealthChecks
    redis: Redis[bytes]
    fhir: FhirDocumentStore | None = None  # the signed reports' FHIR documents (/fhir)
    max_body_bytes: int = 64 * 1024
    # Database work runs in threads, at most this many at once: as many as the engine's pool
    # holds connections. More would wait for a connection, or (with overflow) open and close
    # a connection per request, which cost the API and Postgres more than the command itself.
    db_threads: int = 16
    _limiter: CapacityLimiter | None = None

    async def in_thread(self, fn: Callable[..., T], *args: Any) -> T:
        if self._limiter is None:  # made in the event loop that uses it
            self._limiter = CapacityLimiter(self.db_threads)
        return await to_thread.run_sync(fn, *args, limiter=self._limiter)


class Problem(BaseModel):
    """application/problem+json (RFC 9457); ``field`` and ``reason`` on invalid input."""

    type: str = "about:blank"
    title: str
    status: int
    detail: str
    field: str | None = None
    reason: str | None = None
    code: str | None = None


def problem_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    return {
        status: {"model": Problem, "content": {"application/problem+json": {}}}
        for status in statuses
    }


def authorized(ctx: ApiContext, roles: tuple[str, ...]) -> Callable[..., Awaitable[Principal]]:
    """A dependency: the authenticated caller, holding one of ``roles``. It runs before the
    body is read, so an unauthenticated or unauthorized request learns nothing from
    validation errors (401/403 come first)."""
    check_role = require(roles)

    async def caller(
        request: Request,
        credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
    ) -> Principal:
        principal = await ctx.guard.authenticate(request, credentials)
        check_role(principal)
        return principal

    return caller
