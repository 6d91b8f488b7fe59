"""How each event lands in the read models (``keys``): event class -> operations (``ops``).

Projectors read the decoded Avro record (the fields of the event class, ``metadata`` included)
rather than a typed envelope: the record is what the consumer already holds, and building
dataclasses for every event would cost more than the rest of the projection. Fields added to a
schema later are read with ``.get`` (an older writer's record lacks them).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from consumers.read_models import keys
from consumers.read_models.ops import (
    Op,
    epoch_ms,
    put,
    put_once,
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


def _stamp(meta: Record) -> dict[str, Any]:
    """Fields every event writes on its own aggregate's hash."""
    return {
        "organization_id": meta["organization_id"],
        "version": meta["aggregate_version"],
        "updated_at": meta["occurred_at"],
    }


# -- patients -------------------------------------------------------------------------------------


def _patient_state(meta: Record, r: Record) -> list[Op]:
    fields = ("mrn", "family_name", "given_name", "date_of_birth", "sex")
    masked = ("mobile_masked", "email_masked", "aadhaar_masked")
    return [
        put(
            keys.patient(r["patient_id"]),
            meta["aggregate_version"],
            {
                "patient_id": r["patient_id"],
                **{f: r[f] for f in fields},
                **{f: r.get(f) for f in masked},
                "status": "active",
                **_stamp(meta),
            },
        ),
        put_once(keys.patient_by_mrn(r["mrn"]), meta["organization_id"], r["patient_id"]),
    ]


def _patient_deleted(meta: Record, r: Record) -> list[Op]:
    fields = {"status": "deleted", "deletion_reason": r.get("reason"), **_stamp(meta)}
    return [put(keys.patient(r["patient_id"]), meta["aggregate_version"], fields)]


# -- orders ---------------------------------------------------------------------------------------


def _order(meta: Record, r: Record, status: str, **extra: Any) -> Op:
    fields = {"order_id": r["order_id"], "status": status, **extra, **_stamp(meta)}
    return put(keys.order(r["order_id"]), meta["aggregate_version"], fields)


def _order_created(meta: Record, r: Record) -> list[Op]:
    copied = (
        "patient_id", "mrn", "placer_order_number", "priority", "tests",
        "ordering_clinician_name", "catalog_version",
    )  # fmt: skip
    optional = ("ordering_clinician_contact_masked", "clinical_notes")
    return [
        _order(
            meta,
            r,
            "created",
            **{f: r[f] for f in copied},
            **{f: r.get(f) for f in optional},
            created_at=meta["occurred_at"],
        ),
        put_once(keys.patient(r["patient_id"]), f"order.{r['order_id']}", r["placer_order_number"]),
    ]


def _order_confirmed(meta: Record, r: Record) -> list[Op]:
    return [_order(meta, r, "confirmed")]


def _order_cancelled(meta: Record, r: Record) -> list[Op]:
    op = _order(meta, r, "cancelled", cancel_reason=r["reason"])
    return [op, refresh_recollections(keys.order(r["order_id"]))]


def _order_completed(meta: Record, r: Record) -> list[Op]:
    op = _order(meta, r, "completed", completed_at=meta["occurred_at"])
    return [op, refresh_recollections(keys.order(r["order_id"]))]


# -- samples --------------------------------------------------------------------------------------


def _sample_ops(
    meta: Record, r: Record, status: str, mine: dict[str, Any], on_order: dict[str, Any]
) -> list[Op]:
    """The sample's hash and timeline, its line on the order, and its bench queue entry."""
    sample_id, version = r["sample_id"], meta["aggregate_version"]
    sample_key, order_key = keys.sample(sample_id), keys.order(r["order_id"])
    entry = {
        "event_type": meta["event_type"],
        "at": meta["occurred_at"].isoformat(),
        "by": meta["user_id"],
        "version": version,
    }
    fields = {"sample_id": sample_id, "order_id": r["order_id"], "status": status, **mine}
    line = {"status": status, "accession_number": r["accession_number"], **on_order}
    return [
        put(sample_key, version, {**fields, **_stamp(meta)}),
        put_once(sample_key, f"timeline.{version:06d}", json.dumps(entry, sort_keys=True)),
        put(order_key, version, {f"sample.{sample_id}.{k}": v for k, v in line.items()}),
        put_once(order_key, "organization_id", meta["organization_id"]),
        refresh_bench(sample_key, sample_id),
    ]


def _sample_collected(meta: Record, r: Record) -> list[Op]:
    mine = {
        "patient_id": r["patient_id"],
        "accession_number": r["accession_number"],
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
    ops = _sample_ops(meta, r, "collected", mine, on_order)
    return [*ops, refresh_recollections(keys.order(r["order_id"]))]


def _sample_received(meta: Record, r: Record) -> list[Op]:
    mine = {
        "accession_number": r["accession_number"],
        "specimen_type": r["specimen_type"],
        "priority": r["priority"],
        "received_at": r["received_at"],
        "received_ms": epoch_ms(r["received_at"]),
        "loinc_codes": r.get("loinc_codes") or [],
    }
    return _sample_ops(meta, r, "received", mine, {})


def _sample_rejected(meta: Record, r: Record) -> list[Op]:
    mine = {
        "patient_id": r["patient_id"],
        "accession_number": r["accession_number"],
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
    ops = _sample_ops(meta, r, "rejected", mine, on_order)
    return [*ops, refresh_recollections(keys.order(r["order_id"]))]


def _sample_routed(meta: Record, r: Record) -> list[Op]:
    mine = {
        "accession_number": r["accession_number"],
        "department": r["department"],
        "bench": r["bench"],
    }
    return _sample_ops(meta, r, "routed", mine, {"bench": r["bench"]})


# -- results --------------------------------------------------------------------------------------


def _result_ops(meta: Record, r: Record, mine: dict[str, Any]) -> Op:
    return put(
        keys.result(r["result_id"]),
        meta["aggregate_version"],
        {"result_id": r["result_id"], "order_id": r["order_id"], **mine, **_stamp(meta)},
    )


def _on_order(meta: Record, r: Record, line: dict[str, Any]) -> list[Op]:
    order_key = keys.order(r["order_id"])
    fields = {f"result.{r['result_id']}.{k}": v for k, v in line.items()}
    return [
        put(order_key, meta["aggregate_version"], fields),
        put_once(order_key, "organization_id", meta["organization_id"]),
    ]


def _value(r: Record) -> dict[str, Any]:
    return {
        "value_text": r["value_text"],
        "value": r.get("value"),
        "unit": r["unit"],
        "flag": r["flag"],
    }


def _result_entered(meta: Record, r: Record) -> list[Op]:
    copied = (
        "sample_id", "patient_id", "accession_number", "loinc_code", "test_name",
        "catalog_version", "is_critical",
    )  # fmt: skip
    ranges = ("reference_low", "reference_high", "reference_text")
    mine = {
        **{f: r[f] for f in copied},
        **{f: r.get(f) for f in ranges},
        **_value(r),
        "status": "entered",
        "entered_at": meta["occurred_at"],
        "entered_by": meta["user_id"],
    }
    line = {
        "loinc_code": r["loinc_code"],
        "test_name": r["test_name"],
        "sample_id": r["sample_id"],
        "value_text": r["value_text"],
        "unit": r["unit"],
        "flag": r["flag"],
        "is_critical": r["is_critical"],
        "status": "entered",
    }
    sample_key = keys.sample(r["sample_id"])
    return [
        _result_ops(meta, r, mine),
        *_on_order(meta, r, line),
        put_once(sample_key, f"result.{r['loinc_code']}", r["result_id"]),
        refresh_bench(sample_key, r["sample_id"]),
    ]


def _result_verified(meta: Record, r: Record) -> list[Op]:
    mine = {
        **_value(r),
        "status": "verified",
        "verified_by": r["verified_by"],
        "verified_at": meta["occurred_at"],
    }
    line = {"value_text": r["value_text"], "flag": r["flag"], "status": "verified"}
    return [_result_ops(meta, r, mine), *_on_order(meta, r, line)]


def _result_amended(meta: Record, r: Record) -> list[Op]:
    mine = {
        **_value(r),
        "is_critical": r["is_critical"],
        "status": "amended",
        "verified_by": None,
        "amendment_number": r["amendment_number"],
        "amendment_reason": r["reason"],
        "previous_value_text": r["previous_value_text"],
    }
    for critical_id in r.get("superseded_critical_ids") or []:
        mine[f"critical.{critical_id}.status"] = "superseded"
        mine[f"critical.{critical_id}.superseded_at"] = meta["occurred_at"]
    line = {
        "value_text": r["value_text"],
        "flag": r["flag"],
        "is_critical": r["is_critical"],
        "status": "amended",
    }
    result_key = keys.result(r["result_id"])
    return [
        _result_ops(meta, r, mine),
        *_on_order(meta, r, line),
        refresh_criticals(result_key, r["result_id"]),
    ]


def _critical(meta: Record, r: Record, **attrs: Any) -> list[Op]:
    episode = {f"critical.{r['critical_id']}.{k}": v for k, v in attrs.items()}
    result_key = keys.result(r["result_id"])
    return [
        _result_ops(meta, r, episode),
        refresh_criticals(result_key, r["result_id"]),
    ]


def _critical_detected(meta: Record, r: Record) -> list[Op]:
    return _critical(
        meta,
        r,
        status="open",
        flag=r["flag"],
        value_text=r["value_text"],
        detected_at=r["detected_at"],
        detected_ms=epoch_ms(r["detected_at"]),
    )


def _critical_acknowledged(meta: Record, r: Record) -> list[Op]:
    return _critical(
        meta,
        r,
        status="acknowledged",
        acknowledged_by=r["acknowledged_by"],
        called_by=r["called_by"],
        acknowledged_at=r["acknowledged_at"],
    )


def _critical_escalated(meta: Record, r: Record) -> list[Op]:
    return _critical(meta, r, status="escalated", tier=r["tier"], escalated_at=r["escalated_at"])


# -- reports --------------------------------------------------------------------------------------


def _report(meta: Record, r: Record, **attrs: Any) -> list[Op]:
    order_key = keys.order(r["order_id"])
    fields = {"report_id": r["report_id"], "report_version": r["report_version"], **attrs}
    return [
        put(order_key, meta["aggregate_version"], {f"report.{k}": v for k, v in fields.items()}),
        put_once(order_key, "organization_id", meta["organization_id"]),
    ]


def _report_generated(meta: Record, r: Record) -> list[Op]:
    return _report(meta, r, status="generated", signed_by=None, signed_at=None)


def _report_signed(meta: Record, r: Record) -> list[Op]:
    return _report(meta, r, status="signed", signed_by=r["signed_by"], signed_at=r["signed_at"])


def _report_delivered(meta: Record, r: Record) -> list[Op]:
    return _report(meta, r, status="delivered", delivered_at=r["delivered_at"])


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
