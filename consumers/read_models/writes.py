"""What every projector shares: the record type, and an event's writes on its own aggregate's
hash (its facts, then its changing fields stamped with the version and time)."""

from __future__ import annotations

from typing import Any

from consumers.read_models.ops import Op

Record = dict[str, Any]


def own(
    key: str, meta: Record, at: str, fixed: dict[str, Any], changing: dict[str, Any]
) -> list[Op]:
    """An event's writes on its own aggregate's hash: its facts, then its changing fields with
    the version and time every event stamps."""
    version = meta["aggregate_version"]
    fixed["organization_id"] = meta["organization_id"]
    changing["version"] = str(version)
    changing["updated_at"] = at
    return [("s", key, fixed), ("h", key, version, changing)]


def some(fields: dict[str, Any]) -> dict[str, Any]:
    """Facts without the absent ones (an absent fact is no field)."""
    return {k: v for k, v in fields.items() if v is not None}
