"""The Result's persisted form: one flat, JSON-able snapshot (see ``Aggregate``) and back."""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING, Any, TypeVar

from domains.catalog.interpretation import Interpretation, Reading
from domains.result.critical import CriticalEpisode
from domains.result.value import ResultContext
from domains.shared.aggregate import Aggregate

if TYPE_CHECKING:
    from domains.result.model import Result

R = TypeVar("R", bound="Result")


def to_snapshot(result: Result) -> dict[str, Any]:
    c, r, i = result.context, result.reading, result.interpretation
    return {
        "id": result.id,
        "organization_id": result.organization_id,
        "status": result.status,
        "order_id": c.order_id,
        "sample_id": c.sample_id,
        "patient_id": c.patient_id,
        "accession_number": c.accession_number,
        "priority": c.priority,
        "patient_sex": c.patient_sex,
        "patient_date_of_birth": c.patient_date_of_birth.isoformat(),
        "collected_on": c.collected_on.isoformat(),
        "loinc_code": result.loinc_code,
        "test_name": result.test_name,
        "catalog_version": result.catalog_version,
        "entered_by": result.entered_by,
        "verified_by": result.verified_by,
        "value": r.value,
        "value_text": r.value_text,
        "unit": r.unit,
        "entered_value_text": r.entered_value_text,
        "entered_unit": r.entered_unit,
        "flag": i.flag,
        "is_critical": i.is_critical,
        "reference_low": i.reference_low,
        "reference_high": i.reference_high,
        "reference_text": i.reference_text,
        "amendments": result.amendments,
        "criticals": [e.to_dict() for e in result.criticals],
    }


def from_snapshot(cls: type[R], snapshot: dict[str, Any], *, version: int) -> R:
    s = snapshot
    result = cls.__new__(cls)
    Aggregate.__init__(
        result,
        id=s["id"],
        organization_id=s["organization_id"],
        status=s["status"],
        version=version,
    )
    result.context = ResultContext(
        order_id=s["order_id"],
        sample_id=s["sample_id"],
        patient_id=s["patient_id"],
        accession_number=s["accession_number"],
        priority=s["priority"],
        patient_sex=s["patient_sex"],
        patient_date_of_birth=date.fromisoformat(s["patient_date_of_birth"]),
        collected_on=date.fromisoformat(s["collected_on"]),
    )
    result.loinc_code, result.test_name = s["loinc_code"], s["test_name"]
    result.catalog_version, result.entered_by = s["catalog_version"], s["entered_by"]
    result.verified_by = s["verified_by"]
    result.reading = Reading(
        value=s["value"],
        value_text=s["value_text"],
        unit=s["unit"],
        entered_value_text=s["entered_value_text"],
        entered_unit=s["entered_unit"],
    )
    result.interpretation = Interpretation(
        flag=s["flag"],
        is_critical=s["is_critical"],
        reference_low=s["reference_low"],
        reference_high=s["reference_high"],
        reference_text=s["reference_text"],
    )
    # rows written before amendments recorded it: "amended" then meant corrected after release
    legacy = s["status"] == "amended"
    result.amendments = [{"after_verification": legacy, **a} for a in s["amendments"]]
    result.criticals = [CriticalEpisode.from_dict(e) for e in s["criticals"]]
    return result
