"""Results and their critical episodes into the read models: ``result:{id}``, its link on its
order and sample, and the criticals worklist."""

from __future__ import annotations

from typing import Any

from consumers.read_models import keys
from consumers.read_models.ops import Op, epoch_ms
from consumers.read_models.writes import Record, own, some


def _result(meta: Record, r: Record, fixed: dict[str, Any], changing: dict[str, Any]) -> list[Op]:
    fixed["result_id"] = r["result_id"]
    fixed["order_id"] = r["order_id"]
    at = meta["occurred_at"].isoformat()
    return own(keys.result(r["result_id"]), meta, at, fixed, changing)


def _value(r: Record, status: str) -> dict[str, Any]:
    value = r.get("value")
    return {
        "value_text": r["value_text"],
        "value": None if value is None else repr(value),
        "unit": r["unit"],
        "flag": r["flag"],
        "status": status,
    }


def result_entered(meta: Record, r: Record) -> list[Op]:
    low, high = r.get("reference_low"), r.get("reference_high")
    fixed = some(
        {
            "sample_id": r["sample_id"],
            "patient_id": r["patient_id"],
            "accession_number": r["accession_number"],
            "loinc_code": r["loinc_code"],
            "test_name": r["test_name"],
            "catalog_version": r["catalog_version"],
            "reference_low": None if low is None else repr(low),
            "reference_high": None if high is None else repr(high),
            "reference_text": r.get("reference_text"),
            "entered_at": meta["occurred_at"].isoformat(),
            "entered_by": meta["user_id"],
        }
    )
    changing = _value(r, "entered")
    changing["is_critical"] = "true" if r["is_critical"] else "false"
    result_id, sample_id = r["result_id"], r["sample_id"]
    sample_key = keys.sample(sample_id)
    link = {f"result.{result_id}.loinc_code": r["loinc_code"]}
    link["organization_id"] = meta["organization_id"]
    ops = _result(meta, r, fixed, changing)
    ops += (
        ("s", keys.order(r["order_id"]), link),
        ("s", sample_key, {f"result.{r['loinc_code']}": result_id}),
        ("bench", sample_key, sample_id),
    )
    return ops


def result_verified(meta: Record, r: Record) -> list[Op]:
    changing = _value(r, "verified")
    changing["verified_by"] = r["verified_by"]
    changing["verified_at"] = meta["occurred_at"].isoformat()
    return _result(meta, r, {}, changing)


def result_amended(meta: Record, r: Record) -> list[Op]:
    changing = _value(r, "amended")
    changing.update(
        is_critical="true" if r["is_critical"] else "false",
        verified_by=None,
        verified_at=None,
        amendment_number=str(r["amendment_number"]),
        amendment_reason=r["reason"],
        previous_value_text=r["previous_value_text"],
    )
    fixed: dict[str, Any] = {}
    _superseded(r, meta["occurred_at"].isoformat(), fixed, changing)
    ops = _result(meta, r, fixed, changing)
    ops.append(("crit", keys.result(r["result_id"]), r["result_id"]))
    return ops


def _superseded(r: Record, at: str, fixed: dict[str, Any], changing: dict[str, Any]) -> None:
    for critical_id in r.get("superseded_critical_ids") or []:
        changing[f"critical.{critical_id}.status"] = "superseded"
        fixed[f"critical.{critical_id}.superseded_at"] = at


def result_invalidated(meta: Record, r: Record) -> list[Op]:
    """Withdrawn: the value is not to be acted on (kept, marked, never a current value)."""
    at = meta["occurred_at"].isoformat()
    fixed: dict[str, Any] = {}
    changing: dict[str, Any] = {
        "status": "invalidated",
        "invalidation_reason": r["reason_code"],
        "invalidated_by": r["invalidated_by"],
        "invalidated_at": r["invalidated_at"].isoformat(),
        "is_critical": "false",
    }
    _superseded(r, at, fixed, changing)
    ops = _result(meta, r, fixed, changing)
    ops.append(("crit", keys.result(r["result_id"]), r["result_id"]))
    return ops


def result_reinterpreted(meta: Record, r: Record) -> list[Op]:
    """Read again for corrected demographics: an unreleased value takes the new flag; a
    released one keeps its flag and is marked for review until amended."""
    at = meta["occurred_at"].isoformat()
    fixed: dict[str, Any] = {}
    changing: dict[str, Any] = {"review_required": "true" if r["review_required"] else "false"}
    if not r["review_required"]:
        changing.update(flag=r["flag"], is_critical="true" if r["is_critical"] else "false")
    _superseded(r, at, fixed, changing)
    ops = _result(meta, r, fixed, changing)
    ops.append(("crit", keys.result(r["result_id"]), r["result_id"]))
    return ops


def _critical(
    meta: Record, r: Record, status: str, fixed: dict[str, Any], changing: dict[str, Any]
) -> list[Op]:
    episode = f"critical.{r['critical_id']}."
    fixed = {episode + k: v for k, v in fixed.items()}
    changing = {episode + k: v for k, v in changing.items()}
    changing[episode + "status"] = status
    ops = _result(meta, r, fixed, changing)
    ops.append(("crit", keys.result(r["result_id"]), r["result_id"]))
    return ops


def critical_detected(meta: Record, r: Record) -> list[Op]:
    fixed = {
        "flag": r["flag"],
        "value_text": r["value_text"],
        "detected_at": r["detected_at"].isoformat(),
        "detected_ms": epoch_ms(r["detected_at"]),
    }
    return _critical(meta, r, "open", fixed, {})


def critical_acknowledged(meta: Record, r: Record) -> list[Op]:
    fixed = {
        "acknowledged_by": r["acknowledged_by"],
        "called_by": r["called_by"],
        "acknowledged_at": r["acknowledged_at"].isoformat(),
    }
    return _critical(meta, r, "acknowledged", fixed, {})


def critical_escalated(meta: Record, r: Record) -> list[Op]:
    changing = {"tier": str(r["tier"]), "escalated_at": r["escalated_at"].isoformat()}
    return _critical(meta, r, "escalated", {}, changing)
