"""Read-side queries straight on the aggregate tables (no repository, no unit of work).

Every query takes the organization first and filters by it. Views carry masked identifiers
only: the Aadhaar token and the full mobile number never leave this module.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import ColumnElement, Engine, Float, func, literal, or_, select

from domains.patient.identifiers import mask_aadhaar
from domains.shared.contacts import mask_mobile, normalize_mobile
from domains.shared.errors import InvalidInput
from infra.db.aggregates import PatientRow

# pg_trgm's default word-similarity cut-off (0.6) misses a single typo in a short name
# ("Shrama" for "Sharma"); 0.4 still keeps unrelated names out. Set per transaction.
NAME_THRESHOLD = 0.4


@dataclass(frozen=True, kw_only=True)
class PatientView:
    patient_id: str
    mrn: str
    family_name: str
    given_name: str
    date_of_birth: date
    sex: str
    status: str
    mobile_masked: str | None
    aadhaar_masked: str | None
    score: float  # 1.0 for exact matches; name similarity otherwise


def search_patients(
    engine: Engine,
    organization_id: str,
    *,
    mrn: str | None = None,
    mobile: str | None = None,
    name: str | None = None,
    date_of_birth: date | None = None,
    include_deleted: bool = False,
    limit: int = 20,
    offset: int = 0,
) -> list[PatientView]:
    """Patients matching every criterion given, best name match first."""
    if not (mrn or mobile or name):
        raise InvalidInput("query", "give an MRN, a mobile number or a name")
    conditions: list[ColumnElement[bool]] = [PatientRow.organization_id == organization_id]
    score: ColumnElement[Any] = literal(1.0, Float)
    if mrn:
        conditions.append(PatientRow.mrn == mrn.strip())
    if mobile:
        conditions.append(PatientRow.mobile == normalize_mobile(mobile))
    if date_of_birth:
        conditions.append(PatientRow.date_of_birth == date_of_birth)
    if not include_deleted:
        conditions.append(PatientRow.status != "deleted")
    query = " ".join(name.split()) if name else ""
    if query:
        # Both operators are served by the trigram GIN index: ``%`` compares whole names,
        # ``<%`` finds the query within a longer name (a family name alone, say).
        conditions.append(
            or_(PatientRow.full_name.op("%")(query), literal(query).op("<%")(PatientRow.full_name))
        )
        score = func.greatest(
            func.similarity(PatientRow.full_name, query),
            func.word_similarity(query, PatientRow.full_name),
        )
    statement = (
        select(PatientRow.data, PatientRow.status, score.label("score"))
        .where(*conditions)
        .order_by(score.desc(), PatientRow.family_name, PatientRow.given_name, PatientRow.id)
        .limit(limit)
        .offset(offset)
    )
    with engine.connect() as conn:
        if query:
            for setting in ("pg_trgm.similarity_threshold", "pg_trgm.word_similarity_threshold"):
                conn.execute(select(func.set_config(setting, str(NAME_THRESHOLD), True)))
        rows = conn.execute(statement).all()
    return [_view(row.data, row.status, float(row.score)) for row in rows]


def _view(data: dict[str, Any], status: str, score: float) -> PatientView:
    return PatientView(
        patient_id=data["id"],
        mrn=data["mrn"],
        family_name=data["family_name"],
        given_name=data["given_name"],
        date_of_birth=date.fromisoformat(data["date_of_birth"]),
        sex=data["sex"],
        status=status,
        mobile_masked=mask_mobile(data["mobile"]) if data.get("mobile") else None,
        aadhaar_masked=mask_aadhaar(data["aadhaar_last4"]) if data.get("aadhaar_last4") else None,
        score=round(score, 3),
    )
