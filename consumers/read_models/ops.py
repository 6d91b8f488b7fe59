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
lists): per key one ``["H", key, version, field, value, ...]`` (all of one version) or
``["h", key, field, value, version, ...]`` with each field's newest value (last writer by
version is associative, so merging first changes nothing but the work), one
``["s", key, field, value, ...]``, then each recompute once, after every write. Worklists are
functions of the hashes, never edited by an event directly: whatever order the events arrive
in, the hashes converge and so do the worklists.
"""

from __future__ import annotations

import abc
import json
from collections.abc import Iterable
from datetime import date, datetime
from itertools import chain
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


Wire = list[list[Any]]


def coalesce(ops: Iterable[Op]) -> Wire:
    """A batch's operations as a store applies them (see the module doc). Values are the
    hashes' strings already (``text``); operations are tuples as the projection makes them."""
    versioned: dict[str, tuple[int, dict[str, str | None]] | dict[str, tuple[int, Any]]] = {}
    fixed: dict[str, dict[str, str]] = {}
    shared: dict[str, dict[str, str]] = {}  # copies made here, safe to add to
    refresh: dict[Op, None] = {}
    for op in ops:
        kind = op[0]
        if kind == "h":
            key, version, values = op[1], op[2], op[3]
            seen = versioned.get(key)
            if seen is None:
                versioned[key] = (version, values)  # the common case: once per batch
            else:
                merged = _per_field(seen)
                versioned[key] = merged
                for name, value in values.items():
                    had = merged.get(name)
                    if had is None or had[0] < version:
                        merged[name] = (version, value)
        elif kind == "s":
            known = fixed.get(op[1])
            if known is None:
                fixed[op[1]] = op[2]  # not copied unless a second op adds to it
            else:
                if known is not shared.get(op[1]):
                    known = fixed[op[1]] = {**known}
                    shared[op[1]] = known
                known.update(op[2])
        else:
            refresh[op] = None
    wire: Wire = []
    for key, held in versioned.items():
        if isinstance(held, tuple):  # one version for all fields: ["H", key, version, f, v, ...]
            version, values = held
            wire.append(["H", key, version, *chain.from_iterable(values.items())])
        else:
            flat: list[Any] = ["h", key]
            for name, (version, value) in held.items():
                flat += (name, value, version)
            wire.append(flat)
    for key, values in fixed.items():
        wire.append(["s", key, *chain.from_iterable(values.items())])
    wire += [list(op) for op in refresh]
    return wire


def _per_field(
    held: tuple[int, dict[str, str | None]] | dict[str, tuple[int, Any]],
) -> dict[str, tuple[int, Any]]:
    if isinstance(held, dict):
        return held
    version, values = held
    return {name: (version, value) for name, value in values.items()}


class ReadModelStore(abc.ABC):
    """Applies operations atomically, in order. Adapters: Redis (``infra.redis``)."""

    @abc.abstractmethod
    def apply(self, batch: Wire) -> None:
        """Apply a ``coalesce``d batch atomically; raise ``consumers.base.TransientError`` when
        the store is unreachable (the batch is retried, which its idempotence makes safe),
        anything else when it refuses the batch (it then writes none of it)."""
