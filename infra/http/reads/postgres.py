"""Reads straight from the aggregate tables (the snapshots) and the command log: what the API
answers with when no read model is in Redis (yet). Every query filters by organization first."""

from __future__ import annotations

import dataclasses
from typing import Any

from sqlalchemy import Engine, Table, cast, func, select, text
from sqlalchemy.dialects.postgresql import JSONPATH

from infra.db.aggregates import TABLE_BY_AGGREGATE_TYPE
from infra.db.queries import search_patients
from infra.http.reads.ports import Page, PatientQuery, ReadModels, View
from infra.http.reads.views import critical_items, order_view, patient_view, report_view

_T = TABLE_BY_AGGREGATE_TYPE
_OPEN_CRITICAL = '$.criticals[*] ? (@.status == "open" || @.status == "escalated")'

# who did what to a sample, and to the results on it, from the command log
_TIMELINE = text(
    """
    SELECT handled_at, command_type, user_id, command_id, correlation_id
      FROM command_log
     WHERE organization_id = :org
       AND (outcome->>'sample_id' = :sample_id
            OR outcome->>'result_id' = ANY(:result_ids))
     ORDER BY handled_at, command_id
    """
)


class PostgresReadModels(ReadModels):
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def _one(self, table: Table, org: str, id_: str) -> dict[str, Any] | None:
        with self.engine.connect() as conn:
            data: dict[str, Any] | None = conn.scalar(
                select(table.c.data).where(table.c.organization_id == org, table.c.id == id_)
            )
        return data

    def _many(self, table: Table, org: str, **equals: str) -> list[dict[str, Any]]:
        conditions = [table.c.organization_id == org]
        conditions += [table.c[name] == value for name, value in equals.items()]
        with self.engine.connect() as conn:
            rows = conn.scalars(
                select(table.c.data).where(*conditions).order_by(table.c.created_at, table.c.id)
            )
            return list(rows)

    def patient(self, org: str, patient_id: str) -> View | None:
        data = self._one(_T["Patient"], org, patient_id)
        return patient_view(data) if data else None

    def search_patients(self, org: str, query: PatientQuery, page: Page) -> list[View]:
        found = search_patients(
            self.engine,
            org,
            mrn=query.mrn,
            mobile=query.mobile,
            name=query.name,
            date_of_birth=query.date_of_birth,
            limit=page.limit,
            offset=page.offset,
        )
        return [_jsonable(dataclasses.asdict(p)) for p in found]

    def order(self, org: str, order_id: str) -> View | None:
        data = self._one(_T["Order"], org, order_id)
        if data is None:
            return None
        samples = self._many(_T["Sample"], org, order_id=order_id)
        results = self._many(_T["Result"], org, order_id=order_id)
        # named as in the events and the Redis model: the clinician whose patient this is
        ordering = {"ordering_provider_id": data.get("provider_id")}
        return order_view({**data, **ordering, "samples": samples, "results": results})

    def sample(self, org: str, sample_id: str) -> View | None:
        data = self._one(_T["Sample"], org, sample_id)
        if data is None:
            return None
        results = self._many(_T["Result"], org, sample_id=sample_id)
        with self.engine.connect() as conn:
            rows = conn.execute(
                _TIMELINE,
                {"org": org, "sample_id": sample_id, "result_ids": [r["id"] for r in results]},
            ).all()
        timeline = [
            {
                "at": row.handled_at.isoformat(),
                "what": row.command_type,
                "who": row.user_id,
                "command_id": row.command_id,
                "correlation_id": row.correlation_id,
            }
            for row in rows
        ]
        return {**data, "results": results, "timeline": timeline}

    def result(self, org: str, result_id: str) -> View | None:
        return self._one(_T["Result"], org, result_id)

    def report(self, org: str, report_id: str) -> View | None:
        data = self._one(_T["Report"], org, report_id)
        return report_view(data) if data else None

    def critical_worklist(self, org: str, page: Page) -> list[View]:
        results = _T["Result"]
        with self.engine.connect() as conn:
            rows = conn.scalars(
                select(results.c.data)
                .where(
                    results.c.organization_id == org,
                    func.jsonb_path_exists(results.c.data, cast(_OPEN_CRITICAL, JSONPATH)),
                )
                .order_by(results.c.created_at, results.c.id)
                .limit(page.limit)
                .offset(page.offset)
            )
            return [item for data in rows for item in critical_items(data)]

    def bench_worklist(self, org: str, bench: str, page: Page) -> list[View]:
        samples, results = _T["Sample"], _T["Result"]
        entered = (
            select(func.count())
            .where(results.c.organization_id == org, results.c.sample_id == samples.c.id)
            .scalar_subquery()
        )
        stat_first = func.array_position(
            text("ARRAY['stat','urgent','routine']::text[]"), samples.c.data["priority"].astext
        )
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(samples.c.data, entered.label("entered"))
                .where(
                    samples.c.organization_id == org,
                    samples.c.status == "routed",
                    samples.c.data["bench"].astext == bench,
                    entered < func.jsonb_array_length(samples.c.data["tests"]),
                )
                .order_by(stat_first, samples.c.created_at, samples.c.id)
                .limit(page.limit)
                .offset(page.offset)
            ).all()
        return [{**row.data, "results_entered": row.entered} for row in rows]


def _jsonable(view: dict[str, Any]) -> View:
    return {k: v.isoformat() if hasattr(v, "isoformat") else v for k, v in view.items()}
