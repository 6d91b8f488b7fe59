"""Snapshots and read models become API views here, with what must not leave left out:
Aadhaar tokens and digests, and patients', clinicians' and recipients' contacts in the clear
(masked)."""

from __future__ import annotations

from typing import Any

from domains.patient.identifiers import mask_aadhaar
from domains.shared.contacts import mask_contact, mask_mobile
from infra.http.reads.ports import View

# a patient's stored identifiers that must not leave: the Aadhaar token, and the keyed digests
# that find a patient by Aadhaar or by name and birth date (stable identifiers in their own right)
_PATIENT_SECRETS = ("aadhaar_token", "aadhaar_index", "duplicate_key")


def patient_view(data: dict[str, Any]) -> View:
    view = {k: v for k, v in data.items() if k not in _PATIENT_SECRETS}
    last4 = view.pop("aadhaar_last4", None)
    view["aadhaar_masked"] = mask_aadhaar(last4) if last4 else None
    mobile = view.pop("mobile", None)
    view["mobile_masked"] = mask_mobile(mobile) if mobile else None
    email = view.pop("email", None)
    view["email_masked"] = mask_contact(email) if email else None
    return view


def order_view(data: dict[str, Any]) -> View:
    """An order without its clinician's phone number or email in the clear (masked)."""
    view = {k: v for k, v in data.items() if k != "clinician_contact"}
    contact = data.get("clinician_contact")
    view["ordering_clinician_contact_masked"] = mask_contact(contact) if contact else None
    return view


def report_view(data: dict[str, Any]) -> View:
    view = dict(data)
    view["versions"] = [
        {**v, "deliveries": [_masked_delivery(d) for d in v.get("deliveries", [])]}
        for v in data.get("versions", [])
    ]
    return view


def _masked_delivery(delivery: dict[str, Any]) -> dict[str, Any]:
    masked = {k: v for k, v in delivery.items() if k != "destination"}
    destination = delivery.get("destination")
    masked["destination_masked"] = mask_contact(destination) if destination else None
    return masked


def critical_items(result: dict[str, Any]) -> list[View]:
    """One worklist line per open (or escalated) critical episode of a result."""
    return [
        {
            "critical_id": episode["critical_id"],
            "status": episode["status"],
            "tier": episode.get("tier", 0),
            "detected_at": episode["detected_at"],
            "flag": episode["flag"],
            "value_text": episode["value_text"],
            "result_id": result["id"],
            "order_id": result["order_id"],
            "sample_id": result["sample_id"],
            "patient_id": result["patient_id"],
            "accession_number": result["accession_number"],
            "priority": result["priority"],
            "loinc_code": result["loinc_code"],
            "test_name": result["test_name"],
            "unit": result.get("unit"),
        }
        for episode in result.get("criticals", [])
        if episode["status"] in ("open", "escalated")
    ]
