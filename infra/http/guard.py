"""The door every API request passes: rate limits (per client address and per user), the
bearer token, a live session for session tokens, and the route's roles. One Redis round trip.

Limits are fixed one-minute windows in Redis (``ratelimit:{scope}:{who}:{minute}``), so every
API process of a deployment counts together.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass

from fastapi import Request
from fastapi.security import HTTPAuthorizationCredentials
from redis.asyncio import Redis

from infra.http.auth import Forbidden, Principal, TokenVerifier, Unauthenticated
from infra.http.problems import ApiProblem


@dataclass(frozen=True)
class Limits:
    api_per_minute: int = 600  # per user
    token_per_minute: int = 10  # per client address, on the token endpoints
    # per client address: higher than one user's, as a ward or a lab behind one NAT address
    # is many users
    address_per_minute: int = 6000


def session_key(session_id: str) -> str:
    return f"session:{session_id}"


def client_address(request: Request) -> str:
    return request.client.host if request.client else "unknown"


class Guard:
    def __init__(self, verifier: TokenVerifier, redis: Redis[bytes], limits: Limits) -> None:
        self.verifier, self.redis, self.limits = verifier, redis, limits

    async def authenticate(
        self, request: Request, credentials: HTTPAuthorizationCredentials | None
    ) -> Principal:
        if credentials is None or credentials.scheme.lower() != "bearer":
            # counted too: guessing tokens is what the address limit is for
            await self._count([self._address(request)])
            raise Unauthenticated("a bearer token is required (Authorization: Bearer ...)")
        try:
            principal = self.verifier.verify(credentials.credentials)
        except Unauthenticated:
            await self._count([self._address(request)])
            raise
        live = await self._count(
            [self._address(request), ("user", principal.user_id, self.limits.api_per_minute)],
            session=principal.session_id,
        )
        if principal.session_id is not None and not live:
            raise Unauthenticated("the session has ended (signed out or revoked)")
        request.state.principal = principal
        return principal

    async def limit_token_endpoint(self, request: Request) -> None:
        await self._count([("token", client_address(request), self.limits.token_per_minute)])

    def _address(self, request: Request) -> tuple[str, str, int]:
        return ("address", client_address(request), self.limits.address_per_minute)

    async def _count(
        self, who: Iterable[tuple[str, str, int]], *, session: str | None = None
    ) -> bool:
        """Count one request against each (scope, id, limit a minute); raise 429 past a limit.
        Returns whether ``session`` is live (True when none is asked about)."""
        minute = int(time.time() // 60)
        who = list(who)
        keys = [f"ratelimit:{scope}:{ident}:{minute}" for scope, ident, _ in who]
        pipe = self.redis.pipeline(transaction=False)
        for key in keys:
            pipe.incr(key)
            pipe.expire(key, 61, nx=True)
        if session is not None:
            pipe.exists(session_key(session))
        replies = await pipe.execute()
        counts = replies[0 : 2 * len(keys) : 2]
        for (scope, _, per_minute), n in zip(who, counts, strict=True):
            if int(n) > per_minute:
                retry = 60 - int(time.time()) % 60
                raise ApiProblem(
                    429,
                    "Too many requests",
                    f"more than {per_minute} requests a minute from this {scope}; "
                    f"retry in {retry} s",
                    headers={"Retry-After": str(retry)},
                )
        return bool(replies[-1]) if session is not None else True


def require(roles: Iterable[str]) -> Callable[[Principal], None]:
    allowed = tuple(roles)

    def check(principal: Principal) -> None:
        if not principal.has_any(allowed):
            raise Forbidden(f"this needs one of the roles {', '.join(allowed)}")

    return check


Authenticate = Callable[[Request, HTTPAuthorizationCredentials | None], Awaitable[Principal]]
