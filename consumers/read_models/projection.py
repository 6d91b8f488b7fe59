"""How each event lands in the read models (``keys``): event class -> operations (``ops``).

Projectors read the decoded Avro record (the fields of the event class, ``metadata`` included)
rather than a typed envelope: the record is what the consumer already holds, and building
dataclasses for every event would cost more than the rest of the projection. Fields added to a
schema later are read with ``.get`` (an older writer's record lacks them).

Each projector splits what it writes into facts (``ops.facts``: never change once they exist)
and fields that change over the aggregate's life (``ops.put``, compared by version).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from consumers.read_models import keys
from consumers.read_models.ops import (
    Op,
    epoch_ms,
    facts,
    put,
    refresh_bench,
    refresh_criticals,
    refresh_recollections,
)
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


def _stamp(meta: Record, **changing: Any) -> dict[str, Any]:
    """The versioned fields every event writes on its own aggregate's hash."""
    return {"version": meta["aggregate_version"], "updated_at": meta["occurred_at"], **changing}


def _own(meta: Record, key: str, fixed: dict[str, Any], **changing: Any) -> list[Op]:
    """An event's writes on its own aggregate's hash."""
    fixed["organization_id"] = meta["organization_id"]
    return [facts(key, fixed), put(key, meta["aggregate_version"], _stamp(meta, **changing))]


# -- patients -------------------------------------------------------------------------------------

_DEMOGRAPHICS = (
    "family_name", "given_name", "date_of_birth", "sex", "mobile_masked", "email_masked",
    "aadhaar_masked",
)  # fmt: skip


def _patient_state(meta: Record, r: Record) -> list[Op]:
    patient_id = r["patient_id"]
    demographics = {f: r.get(f) for f in _DEMOGRAPHICS}
    fixed = {"patient_id": patient_id, "mrn": r["mrn"]}
    return [
        *_own(meta, keys.patient(patient_id), fixed, status="active", **demographics),
        facts(keys.patient_by_mrn(r["mrn"]), {meta["organization_id"]: patient_id}),
    ]


def _patient_deleted(meta: Record, r: Record) -> list[Op]:
    fixed = {"patient_id": r["patient_id"], "deletion_reason": r.get("reason")}
    return _own(meta, keys.patient(r["patient_id"]), fixed, status="deleted")


# -- orders ---------------------------------------------------------------------------------------

_ORDER_FACTS = (
    "patient_id", "mrn", "placer_order_number", "priority", "tests", "ordering_clinician_name",
    "catalog_version", "ordering_clinician_contact_masked", "clinical_notes",
)  # fmt: skip


def _order(meta: Record, r: Record, status: str, **fixed: Any) -> list[Op]:
    fixed["order_id"] = r["order_id"]
    return _own(meta, keys.order(r["order_id"]), fixed, status=status)


def _order_created(meta: Record, r: Record) -> list[Op]:
    fixed = {f: r.get(f) for f in _ORDER_FACTS}
    link = {f"order.{r['order_id']}": r["placer_order_number"]}
    return [
        *_order(meta, r, "created", created_at=meta["occurred_at"], **fixed),
        facts(keys.patient(r["patient_id"]), link),
    ]


def _order_confirmed(meta: Record, r: Record) -> list[Op]:
    return _order(meta, r, "confirmed")


def _order_cancelled(meta: Record, r: Record) -> list[Op]:
    ops = _order(meta, r, "cancelled", cancel_reason=r["reason"])
    return [*ops, refresh_recollections(keys.order(r["order_id"]))]


def _order_completed(meta: Record, r: Record) -> list[Op]:
    ops = _order(meta, r, "completed", completed_at=meta["occurred_at"])
    return [*ops, refresh_recollections(keys.order(r["order_id"]))]


# -- samples --------------------------------------------------------------------------------------


def _sample_ops(
    meta: Record, r: Record, status: str, fixed: dict[str, Any], on_order: dict[str, Any]
) -> list[Op]:
    """The sample's hash and timeline entry, its line on the order, its bench queue entry."""
    sample_id, version = r["sample_id"], meta["aggregate_version"]
    sample_key, order_key = keys.sample(sample_id), keys.order(r["order_id"])
    user = meta["user_id"]
    entry = (
        f'{{"at":"{meta["occurred_at"].isoformat()}","by":{json.dumps(user)},'
        f'"event_type":"{meta["event_type"]}","version":{version}}}'
    )
    fixed.update(
        sample_id=sample_id,
        order_id=r["order_id"],
        accession_number=r["accession_number"],
        **{f"timeline.{version:06d}": entry},
    )
    line = {f"sample.{sample_id}.{k}": v for k, v in on_order.items()}
    line[f"sample.{sample_id}.accession_number"] = r["accession_number"]
    line["organization_id"] = meta["organization_id"]
    return [
        *_own(meta, sample_key, fixed, status=status),
        facts(order_key, line),
        put(order_key, version, {f"sample.{sample_id}.status": status}),
        refresh_bench(sample_key, sample_id),
    ]


def _sample_collected(meta: Record, r: Record) -> list[Op]:
    fixed = {
        "patient_id": r["patient_id"],
        "specimen_type": r["specimen_type"],
        "container": r["container"],
        "priority": r["priority"],
        "loinc_codes": r.get("loinc_codes") or [],
        "collected_at": r["collected_at"],
        "collected_by": r.get("collected_by"),
    }
    on_order = {
        "specimen_type": r["specimen_type"],
        "collected_at": r["collected_at"],
        "collected_ms": epoch_ms(r["collected_at"]),
    }
    ops = _sample_ops(meta, r, "collected", fixed, on_order)
    return [*ops, refresh_recollections(keys.order(r["order_id"]))]


def _sample_received(meta: Record, r: Record) -> list[Op]:
    fixed = {
        "specimen_type": r["specimen_type"],
        "priority": r["priority"],
        "received_at": r["received_at"],
        "received_ms": epoch_ms(r["received_at"]),
        "loinc_codes": r.get("loinc_codes") or [],
    }
    return _sample_ops(meta, r, "received", fixed, {})


def _sample_rejected(meta: Record, r: Record) -> list[Op]:
    fixed = {
        "patient_id": r["patient_id"],
        "rejection_reason": r["reason_code"],
        "rejection_text": r.get("reason_text"),
        "recollection_required": r["recollection_required"],
        "rejected_at": meta["occurred_at"],
    }
    on_order = {
        "rejection_reason": r["reason_code"],
        "recollection_required": r["recollection_required"],
        "rejected_ms": epoch_ms(meta["occurred_at"]),
    }
    ops = _sample_ops(meta, r, "rejected", fixed, on_order)
    return [*ops, refresh_recollections(keys.order(r["order_id"]))]


def _sample_routed(meta: Record, r: Record) -> list[Op]:
    fixed = {"department": r["department"], "bench": r["bench"]}
    return _sample_ops(meta, r, "routed", fixed, {"bench": r["bench"]})


# -- results --------------------------------------------------------------------------------------


def _result(meta: Record, r: Record, fixed: dict[str, Any], **changing: Any) -> list[Op]:
    fixed.update(result_id=r["result_id"], order_id=r["order_id"])
    return _own(meta, keys.result(r["result_id"]), fixed, **changing)


def _on_order(meta: Record, r: Record) -> Op:
    """The result's link on its order (the result itself is in ``result:{id}``)."""
    line = {f"result.{r['result_id']}.loinc_code": r["loinc_code"]}
    line["organization_id"] = meta["organization_id"]
    return facts(keys.order(r["order_id"]), line)


def _value(r: Record) -> dict[str, Any]:
    return {
        "value_text": r["value_text"],
        "value": r.get("value"),
        "unit": r["unit"],
        "flag": r["flag"],
    }


_RESULT_FACTS = (
    "sample_id", "patient_id", "accession_number", "loinc_code", "test_name", "catalog_version",
    "reference_low", "reference_high", "reference_text",
)  # fmt: skip


def _result_entered(meta: Record, r: Record) -> list[Op]:
    fixed = {f: r.get(f) for f in _RESULT_FACTS}
    fixed.update(entered_at=meta["occurred_at"], entered_by=meta["user_id"])
    sample_key = keys.sample(r["sample_id"])
    return [
        *_result(meta, r, fixed, **_value(r), is_critical=r["is_critical"], status="entered"),
        _on_order(meta, r),
        facts(sample_key, {f"result.{r['loinc_code']}": r["result_id"]}),
        refresh_bench(sample_key, r["sample_id"]),
    ]


def _result_verified(meta: Record, r: Record) -> list[Op]:
    changing = {**_value(r), "status": "verified", "verified_by": r["verified_by"]}
    return _result(meta, r, {}, **changing, verified_at=meta["occurred_at"])


def _result_amended(meta: Record, r: Record) -> list[Op]:
    changing = {
        **_value(r),
        "is_critical": r["is_critical"],
        "status": "amended",
        "verified_by": None,
        "verified_at": None,
        "amendment_number": r["amendment_number"],
        "amendment_reason": r["reason"],
        "previous_value_text": r["previous_value_text"],
    }
    fixed: dict[str, Any] = {}
    for critical_id in r.get("superseded_critical_ids") or []:
        changing[f"critical.{critical_id}.status"] = "superseded"
        fixed[f"critical.{critical_id}.superseded_at"] = meta["occurred_at"]
    return [
        *_result(meta, r, fixed, **changing),
        refresh_criticals(keys.result(r["result_id"]), r["result_id"]),
    ]


def _critical(
    meta: Record, r: Record, status: str, fixed: dict[str, Any], **changing: Any
) -> list[Op]:
    episode = f"critical.{r['critical_id']}."
    fixed = {episode + k: v for k, v in fixed.items()}
    changing = {episode + k: v for k, v in changing.items()}
    changing[episode + "status"] = status
    return [
        *_result(meta, r, fixed, **changing),
        refresh_criticals(keys.result(r["result_id"]), r["result_id"]),
    ]


def _critical_detected(meta: Record, r: Record) -> list[Op]:
    fixed = {
        "flag": r["flag"],
        "value_text": r["value_text"],
        "detected_at": r["detected_at"],
        "detected_ms": epoch_ms(r["detected_at"]),
    }
    return _critical(meta, r, "open", fixed)


def _critical_acknowledged(meta: Record, r: Record) -> list[Op]:
    fixed = {
        "acknowledged_by": r["acknowledged_by"],
        "called_by": r["called_by"],
        "acknowledged_at": r["acknowledged_at"],
    }
    return _critical(meta, r, "acknowledged", fixed)


def _critical_escalated(meta: Record, r: Record) -> list[Op]:
    return _critical(meta, r, "escalated", {}, tier=r["tier"], escalated_at=r["escalated_at"])


# -- reports --------------------------------------------------------------------------------------


def _report(meta: Record, r: Record, status: str, **changing: Any) -> list[Op]:
    order_key = keys.order(r["order_id"])
    fields = {"report_version": r["report_version"], "status": status, **changing}
    fixed = {"report.report_id": r["report_id"], "organization_id": meta["organization_id"]}
    return [
        facts(order_key, fixed),
        put(order_key, meta["aggregate_version"], {f"report.{k}": v for k, v in fields.items()}),
    ]


def _report_generated(meta: Record, r: Record) -> list[Op]:
    return _report(meta, r, "generated", signed_by=None, signed_at=None, delivered_at=None)


def _report_signed(meta: Record, r: Record) -> list[Op]:
    return _report(meta, r, "signed", signed_by=r["signed_by"], signed_at=r["signed_at"])


def _report_delivered(meta: Record, r: Record) -> list[Op]:
    return _report(meta, r, "delivered", delivered_at=r["delivered_at"])


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
