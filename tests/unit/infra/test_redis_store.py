"""The Redis read-model store says which failures are worth retrying: Redis away, full or
read-only during a failover is transient (the batch is retried, never dead-lettered); a
refused operation is not."""

from __future__ import annotations

from typing import Any

import pytest
import redis
from redis import exceptions

from consumers.base import TransientError
from infra.redis.store import RedisReadModelStore


class RefusingRedis(redis.Redis):  # type: ignore[type-arg]
    """Never connects: its script raises ``error``."""

    def __init__(self, error: Exception) -> None:
        super().__init__()
        self.error = error

    def register_script(self, script: Any) -> Any:
        def run(keys: Any = None, args: Any = None, client: Any = None) -> Any:
            raise self.error

        return run


BATCH = [["s", "order:o1", "organization_id", "org-1"]]


@pytest.mark.parametrize(
    "error",
    [
        exceptions.ConnectionError("gone"),
        exceptions.TimeoutError("slow"),
        exceptions.BusyLoadingError("loading"),
        exceptions.OutOfMemoryError("command not allowed when used memory > 'maxmemory'"),
        exceptions.ReadOnlyError("You can't write against a read only replica."),
        exceptions.TryAgainError("try again"),
    ],
)
def test_redis_away_full_or_read_only_is_transient(error: Exception) -> None:
    store = RedisReadModelStore(RefusingRedis(error))
    with pytest.raises(TransientError):
        store.apply(BATCH)


def test_a_refused_batch_is_not_transient_so_the_guilty_event_is_dead_lettered() -> None:
    store = RedisReadModelStore(RefusingRedis(exceptions.ResponseError("operation 1 is unknown")))
    with pytest.raises(exceptions.ResponseError):
        store.apply(BATCH)
