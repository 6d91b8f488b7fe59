"""Patients, orders and reports into the read models (``keys``): ``patient:{id}``, the MRN
index, ``order:{id}`` and its report."""

from __future__ import annotations

from typing import Any

from consumers.read_models import keys
from consumers.read_models.ops import Op, text
from consumers.read_models.writes import Record, own, some

# -- patients -------------------------------------------------------------------------------------


def patient_state(meta: Record, r: Record) -> list[Op]:
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
    ops = own(keys.patient(patient_id), meta, at, {"patient_id": patient_id, "mrn": mrn}, changing)
    ops.append(("s", keys.patient_by_mrn(mrn), {meta["organization_id"]: patient_id}))
    return ops


def patient_deleted(meta: Record, r: Record) -> list[Op]:
    fixed = some({"patient_id": r["patient_id"], "deletion_reason": r.get("reason")})
    at = meta["occurred_at"].isoformat()
    return own(keys.patient(r["patient_id"]), meta, at, fixed, {"status": "deleted"})


# -- orders ---------------------------------------------------------------------------------------


def _order(meta: Record, r: Record, status: str, fixed: dict[str, Any]) -> list[Op]:
    fixed["order_id"] = r["order_id"]
    at = meta["occurred_at"].isoformat()
    return own(keys.order(r["order_id"]), meta, at, fixed, {"status": status})


def order_created(meta: Record, r: Record) -> list[Op]:
    fixed = some(
        {
            "patient_id": r["patient_id"],
            "mrn": r["mrn"],
            "placer_order_number": r["placer_order_number"],
            "priority": r["priority"],
            "tests": text(r["tests"]),
            "ordering_clinician_name": r["ordering_clinician_name"],
            "catalog_version": r["catalog_version"],
            "ordering_clinician_contact_masked": r.get("ordering_clinician_contact_masked"),
            "ordering_provider_id": r.get("ordering_provider_id"),  # whose patient: API reads
            "clinical_notes": r.get("clinical_notes"),
            "created_at": meta["occurred_at"].isoformat(),
        }
    )
    ops = _order(meta, r, "created", fixed)
    link = {f"order.{r['order_id']}": r["placer_order_number"]}
    ops.append(("s", keys.patient(r["patient_id"]), link))
    return ops


def order_confirmed(meta: Record, r: Record) -> list[Op]:
    return _order(meta, r, "confirmed", {})


def order_cancelled(meta: Record, r: Record) -> list[Op]:
    ops = _order(meta, r, "cancelled", {"cancel_reason": r["reason"]})
    ops.append(("recoll", keys.order(r["order_id"]), ""))
    return ops


def order_completed(meta: Record, r: Record) -> list[Op]:
    ops = _order(meta, r, "completed", {"completed_at": meta["occurred_at"].isoformat()})
    ops.append(("recoll", keys.order(r["order_id"]), ""))
    return ops


# -- reports --------------------------------------------------------------------------------------


def _report(meta: Record, r: Record, changing: dict[str, Any]) -> list[Op]:
    order_key = keys.order(r["order_id"])
    changing["report.report_version"] = str(r["report_version"])
    fixed = {"report.report_id": r["report_id"], "organization_id": meta["organization_id"]}
    return [("s", order_key, fixed), ("h", order_key, meta["aggregate_version"], changing)]


def report_generated(meta: Record, r: Record) -> list[Op]:
    changing = {
        "report.status": "generated",
        "report.signed_by": None,
        "report.signed_at": None,
        "report.delivered_at": None,
    }
    return _report(meta, r, changing)


def report_signed(meta: Record, r: Record) -> list[Op]:
    changing = {
        "report.status": "signed",
        "report.signed_by": r["signed_by"],
        "report.signed_at": r["signed_at"].isoformat(),
    }
    return _report(meta, r, changing)


def report_delivered(meta: Record, r: Record) -> list[Op]:
    changing = {"report.status": "delivered", "report.delivered_at": r["delivered_at"].isoformat()}
    return _report(meta, r, changing)
