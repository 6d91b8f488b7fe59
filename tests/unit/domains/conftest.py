"""Fixtures and a few steps of the lab day, so each test states only what it is about."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from domains.order.commands import ConfirmOrder, PlaceOrder
from domains.patient.commands import RegisterPatient
from domains.result.commands import EnterResult, VerifyResult
from domains.sample.commands import CollectSample, ReceiveSample
from domains.shared.ids import new_id
from tests.unit.fakes import FakeApp

ORG = "org-1"
POTASSIUM, SODIUM, HEMOGLOBIN, GLUCOSE = "2823-3", "2951-2", "718-7", "2345-7"
AADHAAR = "234567890124"  # valid Verhoeff check digit


@pytest.fixture
def app() -> FakeApp:
    return FakeApp()


def register(app: FakeApp, **overrides: Any) -> dict[str, Any]:
    fields: dict[str, Any] = {
        "organization_id": ORG,
        "user_id": "desk-1",
        "family_name": "Sharma",
        "given_name": "Priya",
        "date_of_birth": date(1985, 3, 14),
        "sex": "female",
        "mobile": "+91 98765 43210",
        "email": "priya@example.in",
    }
    return app.handle(RegisterPatient(**{**fields, **overrides}))


def order(
    app: FakeApp, patient_id: str, *codes: str, confirm: bool = True, **overrides: Any
) -> str:
    fields: dict[str, Any] = {
        "organization_id": ORG,
        "user_id": "clerk-1",
        "patient_id": patient_id,
        "placer_order_number": f"HIS-{new_id()[:8]}",
        "loinc_codes": list(codes or [POTASSIUM]),
        "priority": "routine",
        "ordering_clinician_name": "Dr. Rao",
        "ordering_clinician_contact": "9876500001",
    }
    order_id: str = app.handle(PlaceOrder(**{**fields, **overrides}))["order_id"]
    if confirm:
        app.handle(ConfirmOrder(organization_id=ORG, order_id=order_id))
    return order_id


def received_sample(app: FakeApp, order_id: str, specimen_type: str = "serum") -> str:
    sample_id: str = app.handle(
        CollectSample(organization_id=ORG, order_id=order_id, specimen_type=specimen_type)
    )["sample_id"]
    app.handle(ReceiveSample(organization_id=ORG, sample_id=sample_id))
    return sample_id


def result(
    app: FakeApp,
    *,
    code: str = POTASSIUM,
    value: str = "4.2",
    unit: str = "mmol/L",
    specimen_type: str = "serum",
    verify: bool = False,
    **patient: Any,
) -> dict[str, Any]:
    """A patient, a confirmed order for one test, a received sample and an entered result."""
    patient_id = register(app, **patient)["patient_id"]
    order_id = order(app, patient_id, code)
    sample_id = received_sample(app, order_id, specimen_type)
    outcome = app.handle(
        EnterResult(
            organization_id=ORG,
            user_id="tech-1",
            sample_id=sample_id,
            loinc_code=code,
            value_text=value,
            unit=unit,
        )
    )
    if verify:
        app.handle(
            VerifyResult(organization_id=ORG, user_id="path-1", result_id=outcome["result_id"])
        )
    return {**outcome, "order_id": order_id, "sample_id": sample_id, "patient_id": patient_id}
