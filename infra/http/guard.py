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


# Counts each key (expiring with its minute) and tells whether the session (ARGV[1]) is live,
# in one command: one round trip, and less client work than a pipeline of five commands.
_COUNT = """
local out = {}
for i, key in ipairs(KEYS) do
  local n = redis.call('INCR', key)
  if n == 1 then redis.call('EXPIRE', key, 61) end
  out[i] = n
end
if ARGV[1] == '' then out[#KEYS + 1] = 1 else out[#KEYS + 1] = redis.call('EXISTS', ARGV[1]) end
return out
"""


class Guard:
    def __init__(self, verifier: TokenVerifier, redis: Redis[bytes], limits: Limits) -> None:
        self.verifier, self.redis, self.limits = verifier, redis, limits
        self._script = redis.register_script(_COUNT)

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
            [self._address(request), ("user", _user(principal), self.limits.api_per_minute)],
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
        replies = await self._script(keys=keys, args=[session_key(session) if session else ""])
        for (scope, _, per_minute), n in zip(who, replies, strict=False):
            if int(n) > per_minute:
                retry = 60 - int(time.time()) % 60
                raise ApiProblem(
                    429,
                    "Too many requests",
                    f"more than {per_minute} requests a minute from this {scope}; "
                    f"retry in {retry} s",
                    headers={"Retry-After": str(retry)},
                )
        return bool(int(replies[-1]))


def require(roles: Iterable[str]) -> Callable[[Principal], None]:
    allowed = tuple(roles)

    def check(principal: Principal) -> None:
        if not principal.has_any(allowed):
            raise Forbidden(f"this needs one of the roles {', '.join(allowed)}")

    return check


Authenticate = Callable[[Request, HTTPAuthorizationCredentials | None], Awaitable[Principal]]


def _user(principal: Principal) -> str:
    # user ids are unique within an organization only: another tenant's "tech-1" has a
    # budget of its own
    return f"{principal.organization_id}/{principal.user_id}"
