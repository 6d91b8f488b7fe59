"""Sessions in Redis (``session:{id}``): a signed-in user gets short-lived access tokens that
name the session, and a refresh token to get the next one. Ending the session (signing out, or
an admin revoking it) makes every access token of it useless at once: the guard checks that
the session still exists on each request.

Only a hash of the refresh token is stored; each refresh replaces it (rotation), so a stolen,
already-used refresh token is worthless.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import time
from dataclasses import dataclass

from redis.asyncio import Redis
from redis.exceptions import WatchError

from domains.shared.ids import new_id
from infra.http.auth import Forbidden, Principal, Unauthenticated, mint_token
from infra.http.guard import session_key


@dataclass(frozen=True)
class IssuedTokens:
    session_id: str
    access_token: str
    refresh_token: str
    expires_in: int


class SessionStore:
    def __init__(
        self, redis: Redis[bytes], secret: str, *, access_minutes: int, refresh_hours: int
    ) -> None:
        self.redis, self._secret = redis, secret
        self.access_minutes, self.refresh_hours = access_minutes, refresh_hours

    async def start(self, principal: Principal) -> IssuedTokens:
        if principal.session_id is not None:
            # else a copied access token could open sessions of its own, which would outlive
            # the revocation of the session it was stolen from
            raise Forbidden(
                "a session's access token cannot start another session; sign in with the "
                "identity provider's token"
            )
        session_id = new_id()
        refresh = secrets.token_urlsafe(32)
        record = {
            "user_id": principal.user_id,
            "organization_id": principal.organization_id,
            "roles": sorted(principal.roles),
            "refresh_hash": _hash(refresh),
            "started_at": int(time.time()),
        }
        await self.redis.set(
            session_key(session_id), json.dumps(record), ex=self.refresh_hours * 3600
        )
        return self._issue(session_id, record, refresh)

    async def refresh(self, refresh_token: str) -> IssuedTokens:
        session_id, _, secret = refresh_token.partition(".")
        if not (session_id and secret):
            raise Unauthenticated("the refresh token is unknown or its session has ended")
        key = session_key(session_id)
        fresh = secrets.token_urlsafe(32)
        # Compare and rotate in one step (WATCH/MULTI): two refreshes with the same token, at
        # the same time, must not both succeed; the one that loses is a reuse like any other.
        async with self.redis.pipeline(transaction=True) as pipe:
            await pipe.watch(key)
            raw = await pipe.get(key)
            if raw is None:
                raise Unauthenticated("the refresh token is unknown or its session has ended")
            record = json.loads(raw)
            if hmac.compare_digest(record["refresh_hash"], _hash(secret)):
                record["refresh_hash"] = _hash(fresh)
                pipe.multi()
                pipe.set(key, json.dumps(record), ex=self.refresh_hours * 3600)
                try:
                    await pipe.execute()
                    return self._issue(session_id, record, fresh)
                except WatchError:
                    pass  # another refresh rotated it first: this token is used now
        # a used (rotated) refresh token coming back means it was copied: end the session
        await self.redis.delete(key)
        raise Unauthenticated("the refresh token was already used; the session is ended")

    async def end(self, organization_id: str, session_id: str) -> bool:
        """End a session of this organization; False when there is none (or not ours)."""
        raw = await self.redis.get(session_key(session_id))
        if raw is None or json.loads(raw)["organization_id"] != organization_id:
            return False
        await self.redis.delete(session_key(session_id))
        return True

    def _issue(self, session_id: str, record: dict[str, object], refresh: str) -> IssuedTokens:
        roles = record["roles"]
        assert isinstance(roles, list)
        access = mint_token(
            self._secret,
            user_id=str(record["user_id"]),
            organization_id=str(record["organization_id"]),
            roles=roles,
            minutes=self.access_minutes,
            session_id=session_id,
        )
        return IssuedTokens(session_id, access, f"{session_id}.{refresh}", self.access_minutes * 60)


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()
