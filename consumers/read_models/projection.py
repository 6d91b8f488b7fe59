"""How each event lands in the read models (``keys``): event class -> operations (``ops``).

Projectors read the decoded Avro record (the fields of the event class, ``metadata`` included)
rather than a typed envelope: the record is what the consumer already holds, and building
dataclasses for every event would cost more than the rest of the projection. Fields added to a
schema later are read with ``.get`` (an older writer's record lacks them).

Each projector splits what it writes into facts (``ops.facts``: never change once they exist)
and fields that change over the aggregate's life (``ops.put``, compared by version), and hands
over values already as the strings the hashes hold (``ops.text`` only where a type varies):
this runs for every event the lab produces, so it is written to do little.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from consumers.read_models import keys
from consumers.read_models.ops import Op, epoch_ms, text
from domains.order import events as order_ev
from domains.patient import events as patient_ev
from domains.report import events as report_ev
from domains.result import events as result_ev
from domains.sample import events as sample_ev
from domains.shared.messages import Event
from schemas.catalog import event_classes

Record = dict[str, Any]
Projector = Callable[[Record, Record], list[Op]]  # (metadata, record) -> operations

# The aggregates whose topics the read models are built from.
AGGREGATES = ("Patient", "Order", "Sample", "Result", "Report")


class ProjectionError(Exception):
    """The record does not carry what its event type promises: a poison message."""


def project(schema_name: str, record: Record) -> list[Op]:
    """The operations for one decoded event; [] for an event the read models ignore."""
    cls = event_classes().get(schema_name)
    projector = PROJECTORS.get(cls) if cls is not None else None
    if projector is None:
        return []
    try:
        return projector(record["metadata"], record)
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise ProjectionError(f"{schema_name} cannot be projected: {exc!r}") from exc


def _own(
    key: str, meta: Record, at: str, fixed: dict[str, Any], changing: dict[str, Any]
) -> list[Op]:
    """An event's writes on its own aggregate's hash: its facts, then its changing fields with
    the version and time every event stamps."""
    version = meta["aggregate_version"]
    fixed["organization_id"] = meta["organization_id"]
    changing["version"] = str(version)
    changing["updated_at"] = at
    return [("s", key, fixed), ("h", key, version, changing)]


def _some(fields: dict[str, Any]) -> dict[str, Any]:
    """Facts without the absent ones (an absent fact is no field)."""
    return {k: v for k, v in fields.items() if v is not None}


# -- patients -------------------------------------------------------------------------------------


def _patient_state(meta: Record, r: Record) -> list[Op]:
    patient_id, mrn = r["patient_id"], r["mrn"]
    changing = {
        "family_name": r["family_name"],
        "given_name": r["given_name"],
        "date_of_birth": r["date_of_birth"].isoformat(),
        "sex": r["sex"],
        "mobile_masked": r.get("mobile_masked"),
        "email_masked": r.get("email_masked"),
        "aadhaar_masked": r.get("aadhaar_masked"),
        "status": "active",
    }
    at = meta["occurred_at"].isoformat()
    ops = _own(keys.patient(patient_id), meta, at, {"patient_id": patient_id, "mrn": mrn}, changing)
    ops.append(("s", keys.patient_by_mrn(mrn), {meta["organization_id"]: patient_id}))
    return ops


def _patient_deleted(meta: Record, r: Record) -> list[Op]:
    fixed = _some({"patient_id": r["patient_id"], "deletion_reason": r.get("reason")})
    at = meta["occurred_at"].isoformat()
    return _own(keys.patient(r["patient_id"]), meta, at, fixed, {"status": "deleted"})


# -- orders ---------------------------------------------------------------------------------------


def _order(meta: Record, r: Record, status: str, fixed: dict[str, Any]) -> list[Op]:
    fixed["order_id"] = r["order_id"]
    at = meta["occurred_at"].isoformat()
    return _own(keys.order(r["order_id"]), meta, at, fixed, {"status": status})


def _order_created(meta: Record, r: Record) -> list[Op]:
    fixed = _some(
        {
            "patient_id": r["patient_id"],
            "mrn": r["mrn"],
            "placer_order_number": r["placer_order_number"],
            "priority": r["priority"],
            "tests": text(r["tests"]),
            "ordering_clinician_name": r["ordering_clinician_name"],
            "catalog_version": r["catalog_version"],
            "ordering_clinician_contact_masked": r.get("ordering_clinician_contact_masked"),
            "clinical_notes": r.get("clinical_notes"),
            "created_at": meta["occurred_at"].isoformat(),
        }
    )
    ops = _order(meta, r, "created", fixed)
    link = {f"order.{r['order_id']}": r["placer_order_number"]}
    ops.append(("s", keys.patient(r["patient_id"]), link))
    return ops


def _order_confirmed(meta: Record, r: Record) -> list[Op]:
    return _order(meta, r, "confirmed", {})


def _order_cancelled(meta: Record, r: Record) -> list[Op]:
    ops = _order(meta, r, "cancelled", {"cancel_reason": r["reason"]})
    ops.append(("recoll", keys.order(r["order_id"]), ""))
    return ops


def _order_completed(meta: Record, r: Record) -> list[Op]:
    ops = _order(meta, r, "completed", {"completed_at": meta["occurred_at"].isoformat()})
    ops.append(("recoll", keys.order(r["order_id"]), ""))
    return ops


# -- samples --------------------------------------------------------------------------------------


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
    ops = _own(sample_key, meta, at, fixed, {"status": status})
    ops += (
        ("s", order_key, on_order),
        ("h", order_key, version, {line + "status": status}),
        ("bench", sample_key, sample_id),
    )
    return ops


def _sample_collected(meta: Record, r: Record) -> list[Op]:
    collected_at = r["collected_at"].isoformat()
    codes = text(r.get("loinc_codes") or [])
    fixed = _some(
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


def _sample_received(meta: Record, r: Record) -> list[Op]:
    fixed = {
        "specimen_type": r["specimen_type"],
        "priority": r["priority"],
        "received_at": r["received_at"].isoformat(),
        "received_ms": epoch_ms(r["received_at"]),
        "loinc_codes": text(r.get("loinc_codes") or []),
    }
    return _sample(meta, r, "received", fixed, {})


def _sample_rejected(meta: Record, r: Record) -> list[Op]:
    required = "true" if r["recollection_required"] else "false"
    fixed = _some(
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


def _sample_routed(meta: Record, r: Record) -> list[Op]:
    fixed = {"department": r["department"], "bench": r["bench"]}
    return _sample(meta, r, "routed", fixed, {"bench": r["bench"]})


# -- results --------------------------------------------------------------------------------------


def _result(meta: Record, r: Record, fixed: dict[str, Any], changing: dict[str, Any]) -> list[Op]:
    fixed["result_id"] = r["result_id"]
    fixed["order_id"] = r["order_id"]
    at = meta["occurred_at"].isoformat()
    return _own(keys.result(r["result_id"]), meta, at, fixed, changing)


def _value(r: Record, status: str) -> dict[str, Any]:
    value = r.get("value")
    return {
        "value_text": r["value_text"],
        "value": None if value is None else repr(value),
        "unit": r["unit"],
        "flag": r["flag"],
        "status": status,
    }


def _result_entered(meta: Record, r: Record) -> list[Op]:
    low, high = r.get("reference_low"), r.get("reference_high")
    fixed = _some(
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


def _result_verified(meta: Record, r: Record) -> list[Op]:
    changing = _value(r, "verified")
    changing["verified_by"] = r["verified_by"]
    changing["verified_at"] = meta["occurred_at"].isoformat()
    return _result(meta, r, {}, changing)


def _result_amended(meta: Record, r: Record) -> list[Op]:
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
    at = meta["occurred_at"].isoformat()
    for critical_id in r.get("superseded_critical_ids") or []:
        changing[f"critical.{critical_id}.status"] = "superseded"
        fixed[f"critical.{critical_id}.superseded_at"] = at
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


def _critical_detected(meta: Record, r: Record) -> list[Op]:
    fixed = {
        "flag": r["flag"],
        "value_text": r["value_text"],
        "detected_at": r["detected_at"].isoformat(),
        "detected_ms": epoch_ms(r["detected_at"]),
    }
    return _critical(meta, r, "open", fixed, {})


def _critical_acknowledged(meta: Record, r: Record) -> list[Op]:
    fixed = {
        "acknowledged_by": r["acknowledged_by"],
        "called_by": r["called_by"],
        "acknowledged_at": r["acknowledged_at"].isoformat(),
    }
    return _critical(meta, r, "acknowledged", fixed, {})


def _critical_escalated(meta: Record, r: Record) -> list[Op]:
    changing = {"tier": str(r["tier"]), "escalated_at": r["escalated_at"].isoformat()}
    return _critical(meta, r, "escalated", {}, changing)


# -- reports --------------------------------------------------------------------------------------


def _report(meta: Record, r: Record, changing: dict[str, Any]) -> list[Op]:
    order_key = keys.order(r["order_id"])
    changing["report.report_version"] = str(r["report_version"])
    fixed = {"report.report_id": r["report_id"], "organization_id": meta["organization_id"]}
    return [("s", order_key, fixed), ("h", order_key, meta["aggregate_version"], changing)]


def _report_generated(meta: Record, r: Record) -> list[Op]:
    changing = {
        "report.status": "generated",
        "report.signed_by": None,
        "report.signed_at": None,
        "report.delivered_at": None,
    }
    return _report(meta, r, changing)


def _report_signed(meta: Record, r: Record) -> list[Op]:
    changing = {
        "report.status": "signed",
        "report.signed_by": r["signed_by"],
        "report.signed_at": r["signed_at"].isoformat(),
    }
    return _report(meta, r, changing)


def _report_delivered(meta: Record, r: Record) -> list[Op]:
    changing = {"report.status": "delivered", "report.delivered_at": r["delivered_at"].isoformat()}
    return _report(meta, r, changing)


PROJECTORS: dict[type[Event], Projector] = {
    patient_ev.PatientCreated: _patient_state,
    patient_ev.PatientUpdated: _patient_state,
    patient_ev.PatientDeleted: _patient_deleted,
    order_ev.OrderCreated: _order_created,
    order_ev.OrderConfirmed: _order_confirmed,
    order_ev.OrderCancelled: _order_cancelled,
    order_ev.OrderCompleted: _order_completed,
    sample_ev.SampleCollected: _sample_collected,
    sample_ev.SampleReceived: _sample_received,
    sample_ev.SampleRejected: _sample_rejected,
    sample_ev.SampleRouted: _sample_routed,
    result_ev.ResultEntered: _result_entered,
    result_ev.ResultVerified: _result_verified,
    result_ev.ResultAmended: _result_amended,
    result_ev.CriticalValueDetected: _critical_detected,
    result_ev.CriticalValueAcknowledged: _critical_acknowledged,
    result_ev.CriticalValueEscalated: _critical_escalated,
    report_ev.ReportGenerated: _report_generated,
    report_ev.ReportSigned: _report_signed,
    report_ev.ReportDelivered: _report_delivered,
}
