"""The operations a read-model store applies, and the port a store implements.

An event becomes a few operations (``projection``); a batch of them is applied in one atomic
round trip. Each is a JSON-able list, so a store can ship a whole batch to Redis at once:

- ``["h", key, version, field, value, ...]``: set each field whose stored version is older
  than ``version`` (a None value removes the field); the field keeps ``version``;
- ``["n", key, field, value]``: set the field only if absent (write-once facts: a link, a
  timeline entry);
- ``["bench", sample_key, sample_id]``, ``["crit", result_key, result_id]``,
  ``["recoll", order_key]``: recompute the worklist entries that depend on that hash.

Worklists are recomputed from the hashes, never edited by an event directly: whatever order the
events arrive in, the hashes converge and so do the worklists.
"""

from __future__ import annotations

import abc
import json
from collections.abc import Mapping, Sequence
from datetime import date, datetime
from typing import Any

Op = list[Any]


def text(value: Any) -> str | None:
    """A hash value: see ``keys`` (None stays None: the field is removed)."""
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    return json.dumps(value, sort_keys=True, separators=(",", ":"), default=str)


def epoch_ms(value: datetime) -> str:
    return str(int(value.timestamp() * 1000))


def put(key: str, version: int, fields: Mapping[str, Any]) -> Op:
    op: Op = ["h", key, version]
    for name, value in fields.items():
        op += [name, text(value)]
    return op


def put_once(key: str, field: str, value: str) -> Op:
    return ["n", key, field, value]


def refresh_bench(sample_key: str, sample_id: str) -> Op:
    return ["bench", sample_key, sample_id]


def refresh_criticals(result_key: str, result_id: str) -> Op:
    return ["crit", result_key, result_id]


def refresh_recollections(order_key: str) -> Op:
    return ["recoll", order_key]


class ReadModelStore(abc.ABC):
    """Applies operations atomically, in order. Adapters: Redis (``infra.redis``)."""

    @abc.abstractmethod
    def apply(self, ops: Sequence[Op]) -> None:
        """All or nothing; raise ``consumers.base.TransientError`` when the store is
        unreachable (the batch is retried), anything else for operations it cannot apply."""
