"""The operations a read-model store applies, and the port a store implements.

An event becomes a few operations (``projection``):

- ``("h", key, version, {field: value})``: a field that changes over an aggregate's life
  (status, a value, the version): set it if its stored version is older than ``version`` (None
  removes it); the field keeps ``version`` (in ``_v:{key}``);
- ``("s", key, {field: value})``: facts that never change once they exist (ids, an accession
  number, when a sample was received, a timeline entry, a link): every event that carries one
  carries the same value, so they are simply set, in any order, without a version;
- ``("bench", sample_key, sample_id)``, ``("crit", result_key, result_id)``,
  ``("recoll", order_key, "")``: recompute the worklist entries that depend on that hash.

A batch of them is ``coalesce``d into what a store applies in one atomic round trip (JSON-able
lists): per key one ``["h", key, field, value, version, ...]`` with each field's newest value
(last writer by version is associative, so merging first changes nothing but the work), one
``["s", key, field, value, ...]``, then each recompute once, after every write. Worklists are
functions of the hashes, never edited by an event directly: whatever order the events arrive
in, the hashes converge and so do the worklists.
"""

from __future__ import annotations

import abc
import json
from collections.abc import Iterable, Mapping
from datetime import date, datetime
from typing import Any

Op = tuple[Any, ...]


def text(value: Any) -> str | None:
    """A hash value: see ``keys`` (None stays None: the field is removed)."""
    kind = type(value)
    if kind is str or value is None:
        return value  # type: ignore[no-any-return]
    if kind is bool:
        return "true" if value else "false"
    if kind is int or kind is float:
        return repr(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    return json.dumps(value, sort_keys=True, separators=(",", ":"), default=str)


def epoch_ms(value: datetime) -> str:
    return str(int(value.timestamp() * 1000))


def put(key: str, version: int, fields: Mapping[str, Any]) -> Op:
    return ("h", key, version, {name: text(value) for name, value in fields.items()})


def facts(key: str, fields: Mapping[str, Any]) -> Op:
    """Constant facts (None values are left out: an absent fact is no field)."""
    return ("s", key, {name: text(v) for name, v in fields.items() if v is not None})


def refresh_bench(sample_key: str, sample_id: str) -> Op:
    return ("bench", sample_key, sample_id)


def refresh_criticals(result_key: str, result_id: str) -> Op:
    return ("crit", result_key, result_id)


def refresh_recollections(order_key: str) -> Op:
    return ("recoll", order_key, "")


Wire = list[list[Any]]


def coalesce(ops: Iterable[Op]) -> Wire:
    """A batch's operations as a store applies them (see the module doc)."""
    versioned: dict[str, dict[str, tuple[int, str | None]]] = {}
    fixed: dict[str, dict[str, str]] = {}
    refresh: dict[tuple[str, str, str], None] = {}
    for op in ops:
        kind = op[0]
        if kind == "h":
            _, key, version, values = op
            merged = versioned.setdefault(key, {})
            for name, value in values.items():
                seen = merged.get(name)
                if seen is None or seen[0] < version:
                    merged[name] = (version, value)
        elif kind == "s":
            fixed.setdefault(op[1], {}).update(op[2])
        else:
            refresh[op] = None
    wire: Wire = []
    for key, merged in versioned.items():
        flat: list[Any] = ["h", key]
        for name, (version, value) in merged.items():
            flat += (name, value, version)
        wire.append(flat)
    for key, values in fixed.items():
        pairs: list[Any] = ["s", key]
        for name, value in values.items():
            pairs += (name, value)
        wire.append(pairs)
    wire += [list(op) for op in refresh]
    return wire


class ReadModelStore(abc.ABC):
    """Applies operations atomically, in order. Adapters: Redis (``infra.redis``)."""

    @abc.abstractmethod
    def apply(self, batch: Wire) -> None:
        """Apply a ``coalesce``d batch atomically; raise ``consumers.base.TransientError`` when
        the store is unreachable (the batch is retried, which its idempotence makes safe),
        anything else when it refuses the batch (it then writes none of it)."""
