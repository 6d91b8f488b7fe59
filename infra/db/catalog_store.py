"""Reference data and number sequences in Postgres: the test catalog, MRNs, accession numbers.

Each function here runs its own short transaction on the engine. The counters in particular
must not join a command's transaction: a row lock on an organization's counter held until the
command commits would serialize every registration in that organization. The price is a gap in
the numbers when a command fails after drawing one, as with any database sequence.
"""

from __future__ import annotations

import dataclasses
import json
from datetime import date
from typing import Any, cast

from sqlalchemy import Engine, Table, select
from sqlalchemy.dialects.postgresql import insert as pg_insert

from domains.catalog.model import (
    AgeBound,
    Catalog,
    Conversion,
    ReferenceRange,
    ReviewRule,
    TestDefinition,
)
from domains.patient.identifiers import mrn_from_sequence
from domains.patient.ports import MrnSource
from domains.sample.ports import AccessionSource, accession_number
from infra.db.aggregates import (
    AccessionCounterRow,
    CatalogVersionRow,
    MrnCounterRow,
    TestDefinitionRow,
)

_MRN_COUNTERS = cast(Table, MrnCounterRow.__table__)
_ACCESSION_COUNTERS = cast(Table, AccessionCounterRow.__table__)


class CatalogVersionMismatch(ValueError):
    """The catalog file changed but kept a version already stored: results flagged against the
    old definitions could no longer be re-read. Bump ``catalog_version``."""


def store_catalog(engine: Engine, catalog: Catalog) -> bool:
    """Store a catalog version once; True when it was new. Safe to run from several processes."""
    definitions = {t.loinc_code: definition_to_json(t) for t in catalog}
    with engine.begin() as conn:
        created = conn.execute(
            pg_insert(CatalogVersionRow)
            .values(version=catalog.version)
            .on_conflict_do_nothing()
            .returning(CatalogVersionRow.version)
        ).first()
        if created is not None:
            conn.execute(
                pg_insert(TestDefinitionRow),
                [
                    {"catalog_version": catalog.version, "loinc": loinc, "definition": definition}
                    for loinc, definition in definitions.items()
                ],
            )
            return True
        stored = _stored_definitions(conn, catalog.version)
    if stored != definitions:
        raise CatalogVersionMismatch(
            f"catalog {catalog.version} is stored with other definitions; bump catalog_version"
        )
    return False


def read_catalog(engine: Engine, version: str | None = None) -> Catalog:
    """A stored catalog version; without ``version``, the one loaded last."""
    with engine.connect() as conn:
        if version is None:
            version = conn.scalar(
                select(CatalogVersionRow.version).order_by(CatalogVersionRow.loaded_at.desc())
            )
            if version is None:
                raise LookupError("no test catalog stored yet")
        definitions = _stored_definitions(conn, version)
    if not definitions:
        raise LookupError(f"test catalog {version} is not stored")
    return Catalog(version, (definition_from_json(d) for d in definitions.values()))


def _stored_definitions(conn: Any, version: str) -> dict[str, dict[str, Any]]:
    rows = conn.execute(
        select(TestDefinitionRow.loinc, TestDefinitionRow.definition).where(
            TestDefinitionRow.catalog_version == version
        )
    )
    return {row.loinc: row.definition for row in rows}


def definition_to_json(test: TestDefinition) -> dict[str, Any]:
    # Through a JSON round trip (tuples become lists), so it compares equal to what is stored.
    data: dict[str, Any] = json.loads(json.dumps(dataclasses.asdict(test)))
    return data


def definition_from_json(data: dict[str, Any]) -> TestDefinition:
    values = _upgrade_legacy(dict(data))
    values["reference_ranges"] = tuple(_range(r) for r in values["reference_ranges"])
    values["critical_limits"] = tuple(_range(r) for r in values.get("critical_limits", ()))
    values["conversions"] = {u: Conversion(**c) for u, c in values["conversions"].items()}
    values["reviews"] = tuple(ReviewRule(**{**r, **_ages(r)}) for r in values.get("reviews", ()))
    for field in dataclasses.fields(TestDefinition):
        if isinstance(values.get(field.name), list):
            values[field.name] = tuple(values[field.name])
    return TestDefinition(**values)


def _upgrade_legacy(values: dict[str, Any]) -> dict[str, Any]:
    """Catalogs stored before 2025.01 had one critical pair for all ages and plain factors."""
    if "critical_low" in values or "critical_high" in values:
        low, high = values.pop("critical_low", None), values.pop("critical_high", None)
        any_age = {"amount": 0, "unit": "d"}
        values["critical_limits"] = (
            [{"sex": "any", "age_from": any_age, "age_to": None, "low": low, "high": high}]
            if low is not None or high is not None
            else []
        )
    values["conversions"] = {
        unit: c if isinstance(c, dict) else {"factor": c}
        for unit, c in values.get("conversions", {}).items()
    }
    return values


def _range(data: dict[str, Any]) -> ReferenceRange:
    return ReferenceRange(**{**data, **_ages(data)})


def _ages(data: dict[str, Any]) -> dict[str, AgeBound | None]:
    age_to = data["age_to"]
    return {
        "age_from": AgeBound(**data["age_from"]),
        "age_to": AgeBound(**age_to) if age_to else None,
    }


def _next(engine: Engine, table: Table, key: dict[str, Any]) -> int:
    """Bump one counter row (created at 1 on first use) and return its new value, atomically."""
    statement = (
        pg_insert(table)
        .values(**key, last_value=1)
        .on_conflict_do_update(
            index_elements=list(key), set_={"last_value": table.c.last_value + 1}
        )
        .returning(table.c.last_value)
    )
    with engine.begin() as conn:
        return int(conn.execute(statement).scalar_one())


class SqlMrnSource(MrnSource):
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def next_mrn(self, organization_id: str) -> str:
        sequence = _next(self.engine, _MRN_COUNTERS, {"organization_id": organization_id})
        return mrn_from_sequence(sequence)


class SqlAccessionSource(AccessionSource):
    """Accession numbers from a counter per organization and (lab-local) day, from 1 each day."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def next_accession(self, organization_id: str, on: date) -> str:
        key = {"organization_id": organization_id, "day": on}
        return accession_number(on, _next(self.engine, _ACCESSION_COUNTERS, key))
