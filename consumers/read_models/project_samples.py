"""Samples into the read models: ``sample:{id}`` with its timeline, its line on its order, and
its bench queue entry."""

from __future__ import annotations

import json
from typing import Any

from consumers.read_models import keys
from consumers.read_models.ops import Op, epoch_ms, text
from consumers.read_models.writes import Record, own, some


def _sample(
    meta: Record, r: Record, status: str, fixed: dict[str, Any], on_order: dict[str, Any]
) -> list[Op]:
    """The sample's hash and timeline entry, its line on the order, its bench queue entry."""
    sample_id, version = r["sample_id"], meta["aggregate_version"]
    sample_key, order_key = keys.sample(sample_id), keys.order(r["order_id"])
    at, user = meta["occurred_at"].isoformat(), meta["user_id"]
    by = "null" if user is None else json.dumps(user)
    fixed["sample_id"] = sample_id
    fixed["order_id"] = r["order_id"]
    fixed["accession_number"] = r["accession_number"]
    fixed[f"timeline.{version:06d}"] = (
        f'{{"at":"{at}","by":{by},"event_type":"{meta["event_type"]}","version":{version}}}'
    )
    line = f"sample.{sample_id}."
    on_order = {line + k: v for k, v in on_order.items()}
    on_order[line + "accession_number"] = r["accession_number"]
    on_order["organization_id"] = meta["organization_id"]
    ops = own(sample_key, meta, at, fixed, {"status": status})
    ops += (
        ("s", order_key, on_order),
        ("h", order_key, version, {line + "status": status}),
        ("bench", sample_key, sample_id),
    )
    return ops


def sample_collected(meta: Record, r: Record) -> list[Op]:
    collected_at = r["collected_at"].isoformat()
    codes = text(r.get("loinc_codes") or [])
    fixed = some(
        {
            "patient_id": r["patient_id"],
            "specimen_type": r["specimen_type"],
            "container": r["container"],
            "priority": r["priority"],
            "loinc_codes": codes,
            "collected_at": collected_at,
            "collected_by": r.get("collected_by"),
        }
    )
    on_order = {
        "specimen_type": r["specimen_type"],
        "collected_at": collected_at,
        "collected_ms": epoch_ms(r["collected_at"]),
    }
    ops = _sample(meta, r, "collected", fixed, on_order)
    ops.append(("recoll", keys.order(r["order_id"]), ""))
    return ops


def sample_received(meta: Record, r: Record) -> list[Op]:
    fixed = {
        "specimen_type": r["specimen_type"],
        "priority": r["priority"],
        "received_at": r["received_at"].isoformat(),
        "received_ms": epoch_ms(r["received_at"]),
        "loinc_codes": text(r.get("loinc_codes") or []),
    }
    return _sample(meta, r, "received", fixed, {})


def sample_rejected(meta: Record, r: Record) -> list[Op]:
    required = "true" if r["recollection_required"] else "false"
    fixed = some(
        {
            "patient_id": r["patient_id"],
            "rejection_reason": r["reason_code"],
            "rejection_text": r.get("reason_text"),
            "recollection_required": required,
            "rejected_at": meta["occurred_at"].isoformat(),
        }
    )
    on_order = {
        "rejection_reason": r["reason_code"],
        "recollection_required": required,
        "rejected_ms": epoch_ms(meta["occurred_at"]),
    }
    ops = _sample(meta, r, "rejected", fixed, on_order)
    ops.append(("recoll", keys.order(r["order_id"]), ""))
    return ops


def sample_routed(meta: Record, r: Record) -> list[Op]:
    fixed = {"department": r["department"], "bench": r["bench"]}
    return _sample(meta, r, "routed", fixed, {"bench": r["bench"]})
