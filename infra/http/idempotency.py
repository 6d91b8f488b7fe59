"""``Idempotency-Key``: the key becomes the command id, so a retried POST is answered by the
command log with the first outcome. What the command log cannot tell is a key reused for a
different request of the same command type; this remembers a fingerprint of each request per
key (``idempotency:{org}:{key}``, a day) and refuses a different one with 422.

The fingerprint is claimed before the command runs and released when the command is refused,
so a corrected retry with the same key is not blocked by a request that changed nothing.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from redis.asyncio import Redis

from infra.http.problems import ApiProblem

TTL_S = 24 * 3600


def fingerprint(user_id: str, route: str, path_params: dict[str, str], body: dict[str, Any]) -> str:
    canonical = json.dumps(
        [user_id, route, path_params, body], sort_keys=True, default=str, separators=(",", ":")
    )
    return hashlib.sha256(canonical.encode()).hexdigest()


class IdempotencyKeys:
    def __init__(self, redis: Redis[bytes]) -> None:
        self.redis = redis

    @staticmethod
    def _key(organization_id: str, key: str) -> str:
        return f"idempotency:{organization_id}:{key}"

    async def claim(self, organization_id: str, key: str, print_: str) -> bool:
        """True when this request is the key's first; raises 422 when the key was used for a
        different request; False for a retry of the same request."""
        name = self._key(organization_id, key)
        claimed = await self.redis.set(name, print_, nx=True, ex=TTL_S)
        if claimed:
            return True
        stored = await self.redis.get(name)
        if stored is not None and stored.decode() != print_:
            raise ApiProblem(
                422,
                "Idempotency key reused",
                "this Idempotency-Key was used for a different request; use a new key",
                field="Idempotency-Key",
            )
        return False

    async def release(self, organization_id: str, key: str, print_: str) -> None:
        name = self._key(organization_id, key)
        stored = await self.redis.get(name)
        if stored is not None and stored.decode() == print_:
            await self.redis.delete(name)
