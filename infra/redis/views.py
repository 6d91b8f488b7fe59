"""Reading the read models (``consumers.read_models.keys``): one document at a time for the API,
the whole model for comparisons (live against a rebuild), and key counts for the demo.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator
from typing import Any

import redis

from consumers.read_models import keys

# Key families, in the order the demo prints them (patient:mrn: before patient:).
FAMILIES = ("patient:mrn:", "patient:", "order:", "sample:", "result:", "worklist:", keys.VERSIONS)


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


def _hash(client: redis.Redis[bytes], key: str) -> dict[str, str]:
    raw: dict[Any, Any] = client.hgetall(key)
    return {_text(k): _text(v) for k, v in raw.items()}


def our_keys(client: redis.Redis[bytes], prefix: str = "") -> Iterator[str]:
    """Every read-model key under ``prefix``, without the prefix."""
    for raw in client.scan_iter(match=f"{prefix}*", count=1000):
        key = _text(raw)[len(prefix) :]
        if key.startswith(FAMILIES):
            yield key


def dump(client: redis.Redis[bytes], prefix: str = "") -> dict[str, Any]:
    """The whole model under ``prefix`` (field versions included), keyed without the prefix:
    two dumps are equal when the models are."""
    model: dict[str, Any] = {}
    names = list(our_keys(client, prefix))
    for start in range(0, len(names), 500):
        chunk = names[start : start + 500]
        pipe = client.pipeline(transaction=False)
        for key in chunk:
            pipe.type(prefix + key)
        kinds = [_text(kind) for kind in pipe.execute()]
        for key, kind in zip(chunk, kinds, strict=True):
            if kind == "hash":
                pipe.hgetall(prefix + key)
            else:
                pipe.zrange(prefix + key, 0, -1, withscores=True)
        for key, kind, raw in zip(chunk, kinds, pipe.execute(), strict=True):
            if kind == "hash":
                model[key] = {_text(k): _text(v) for k, v in raw.items()}
            elif kind == "zset":
                model[key] = [(_text(m), s) for m, s in raw]
            else:  # not ours to write; shown so a comparison names it
                model[key] = (kind, None)
    return model


def key_counts(client: redis.Redis[bytes], prefix: str = "") -> Counter[str]:
    """Keys per family (worklists per kind), for the demo's summary."""
    counts: Counter[str] = Counter()
    for key in our_keys(client, prefix):
        if key.startswith("worklist:"):
            kind = key.split(":")[2]  # worklist:{org}:{kind}[:{bench}]
            counts[f"worklist:*:{kind}:"] += 1
        else:
            counts[next(f for f in FAMILIES if key.startswith(f))] += 1
    return counts


def worklist_sizes(client: redis.Redis[bytes], prefix: str = "") -> Counter[str]:
    """Entries on the worklists, per kind, all organizations and benches together."""
    sizes: Counter[str] = Counter()
    for key in our_keys(client, prefix):
        if key.startswith("worklist:"):
            sizes[key.split(":")[2]] += int(client.zcard(prefix + key))
    return sizes


def clear(client: redis.Redis[bytes], prefix: str) -> int:
    """Delete every read-model key under ``prefix`` (a rebuild's target, a test's corner)."""
    doomed = [prefix + key for key in our_keys(client, prefix)]
    for start in range(0, len(doomed), 1000):
        client.delete(*doomed[start : start + 1000])
    return len(doomed)


def sample_view(
    client: redis.Redis[bytes], sample_id: str, prefix: str = ""
) -> dict[str, Any] | None:
    """A sample with its timeline (oldest first) and its results by test."""
    flat = _hash(client, prefix + keys.sample(sample_id))
    if not flat:
        return None
    view: dict[str, Any] = {k: v for k, v in flat.items() if "." not in k}
    view["timeline"] = [json.loads(flat[k]) for k in sorted(flat) if k.startswith("timeline.")]
    view["results"] = {k[7:]: v for k, v in flat.items() if k.startswith("result.")}
    return view


def order_view(
    client: redis.Redis[bytes], order_id: str, prefix: str = ""
) -> dict[str, Any] | None:
    """An order with its samples (by id), its results (each ``result:{id}`` document, by id)
    and its report."""
    flat = _hash(client, prefix + keys.order(order_id))
    if not flat:
        return None
    view: dict[str, Any] = {"samples": {}, "results": {}, "report": {}}
    for field, value in flat.items():
        group, _, rest = field.partition(".")
        if group in ("sample", "result") and rest:
            member, _, attr = rest.partition(".")
            view[f"{group}s"].setdefault(member, {})[attr] = value
        elif group == "report" and rest:
            view["report"][rest] = value
        else:
            view[field] = value
    pipe = client.pipeline(transaction=False)
    for result_id in view["results"]:
        pipe.hgetall(prefix + keys.result(result_id))
    for result_id, raw in zip(view["results"], pipe.execute(), strict=True):
        view["results"][result_id] = {_text(k): _text(v) for k, v in raw.items()}
    return view


def worklist(client: redis.Redis[bytes], key: str, prefix: str = "") -> list[str]:
    """A worklist's members, first to do first."""
    return [_text(m) for m in client.zrange(prefix + key, 0, -1)]
