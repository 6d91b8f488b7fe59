"""The read-model store on Redis: a batch of operations in one Lua call (``apply.lua``).

One script call per batch is one round trip and one atomic step: nothing else runs in Redis
between the version compare and the write, so two workers (a rebalance hands a partition over
mid-batch) never interleave inside a field's compare-and-set. The script checks every operation
before it writes anything; since every operation is idempotent, a batch retried after a lost
reply converges to the same state.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import redis

from consumers.base import TransientError
from consumers.read_models.ops import ReadModelStore, Wire

_SCRIPT = (Path(__file__).with_name("apply.lua")).read_text(encoding="utf-8")
# Redis going away, restarting (still loading its data), timing out, full (maxmemory: the
# script is refused at its first write) or a replica during a failover (read-only) is worth
# retrying: none of it says anything about the batch, which would otherwise be dead-lettered
# event by event while the offsets move on.
_TRANSIENT = (
    redis.ConnectionError,
    redis.TimeoutError,
    redis.BusyLoadingError,
    redis.exceptions.OutOfMemoryError,  # type: ignore[attr-defined]  # (stubs lag redis-py)
    redis.exceptions.ReadOnlyError,
    redis.exceptions.TryAgainError,
    redis.exceptions.ClusterDownError,
)


def redis_client(url: str) -> redis.Redis[bytes]:
    """A client for ``url`` with timeouts: a read model must not hang a worker for good."""
    return redis.Redis.from_url(
        url, socket_timeout=30, socket_connect_timeout=5, health_check_interval=30
    )


class RedisReadModelStore(ReadModelStore):
    def __init__(self, client: redis.Redis[bytes], prefix: str = "") -> None:
        self.client = client
        self.prefix = prefix
        self._apply: Any = client.register_script(_SCRIPT)

    def apply(self, batch: Wire) -> None:
        if not batch:
            return
        payload = json.dumps(batch, separators=(",", ":"))
        try:
            self._apply(keys=[], args=[self.prefix, payload])
        except _TRANSIENT as exc:
            raise TransientError(f"redis: {exc}") from exc
