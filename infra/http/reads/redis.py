"""Reads from the Redis read models the cache processor keeps (JSON under ``patient:{id}``,
``patient:mrn:{mrn}``, ``sample:{id}``, ``order:{id}``, ``result:{id}``, ``report:{id}``,
``worklist:critical:{org}``, ``worklist:bench:{org}:{bench}``), falling back to Postgres for
anything not (yet) there.

Keys are not scoped by organization, so a read model counts only when its own
``organization_id`` is the caller's: a guessed id of another tenant is "not there" (and the
fallback, filtered by organization, finds nothing either: 404).
"""

from __future__ import annotations

import json
from typing import Any

import structlog
from redis import Redis
from redis.exceptions import RedisError

from infra.http.reads.ports import Page, PatientQuery, ReadModels, View
from infra.http.reads.views import order_view, patient_view, report_view

log = structlog.get_logger(__name__)


class RedisReadModels(ReadModels):
    def __init__(self, redis: Redis[bytes], fallback: ReadModels) -> None:
        self.redis, self.fallback = redis, fallback

    def _get(self, key: str) -> Any | None:
        try:
            raw = self.redis.get(key)
        except RedisError as exc:  # Redis is a cache here: Postgres still answers
            log.warning("reads.redis_unavailable", error=type(exc).__name__)
            return None
        if raw is None:
            return None
        try:
            return json.loads(raw)
        except ValueError:
            log.warning("reads.unreadable_read_model", key=key.split(":")[0])
            return None

    def _owned(self, key: str, org: str) -> dict[str, Any] | None:
        value = self._get(key)
        if isinstance(value, dict) and value.get("organization_id") == org:
            return value
        return None

    def patient(self, org: str, patient_id: str) -> View | None:
        data = self._owned(f"patient:{patient_id}", org)
        return patient_view(data) if data else self.fallback.patient(org, patient_id)

    def search_patients(self, org: str, query: PatientQuery, page: Page) -> list[View]:
        only_mrn = query.mrn and not (query.mobile or query.name or query.date_of_birth)
        if only_mrn and page.offset == 0:
            pointer = self._get(f"patient:mrn:{query.mrn}")
            patient_id = pointer.get("id") if isinstance(pointer, dict) else pointer
            if isinstance(patient_id, str):
                found = self.patient(org, patient_id)
                if found is not None:
                    return [found]
        return self.fallback.search_patients(org, query, page)

    def order(self, org: str, order_id: str) -> View | None:
        data = self._owned(f"order:{order_id}", org)
        if data is not None and "samples" in data and "results" in data:
            return order_view(data)
        return self.fallback.order(org, order_id)

    def sample(self, org: str, sample_id: str) -> View | None:
        data = self._owned(f"sample:{sample_id}", org)
        if data is not None and "timeline" in data:
            return data
        return self.fallback.sample(org, sample_id)

    def result(self, org: str, result_id: str) -> View | None:
        return self._owned(f"result:{result_id}", org) or self.fallback.result(org, result_id)

    def report(self, org: str, report_id: str) -> View | None:
        data = self._owned(f"report:{report_id}", org)
        return report_view(data) if data else self.fallback.report(org, report_id)

    def critical_worklist(self, org: str, page: Page) -> list[View]:
        items = self._get(f"worklist:critical:{org}")
        if isinstance(items, list):
            return items[page.offset : page.offset + page.limit]
        return self.fallback.critical_worklist(org, page)

    def bench_worklist(self, org: str, bench: str, page: Page) -> list[View]:
        items = self._get(f"worklist:bench:{org}:{bench}")
        if isinstance(items, list):
            return items[page.offset : page.offset + page.limit]
        return self.fallback.bench_worklist(org, bench, page)
