"""A simulated lab day's real events without the stack: the domain and the simulation run on
fakes with the processors inline (``PumpedApp``); each event is then encoded with the real
Avro codec and decoded again, as a consumer receives it."""

from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import date
from typing import Any

import fastavro

from domains.shared.messages import EventEnvelope
from infra.simulation.day import run_day
from schemas.avro_codec import default_codec, encode
from tests.unit.processor_pump import PumpedApp


@dataclass(frozen=True)
class DayEvent:
    envelope: EventEnvelope
    schema_name: str
    body: bytes
    record: dict[str, Any]


def decoded(envelope: EventEnvelope) -> DayEvent:
    name, body = encode(envelope)
    record = fastavro.schemaless_reader(io.BytesIO(body), default_codec().parsed_schema(name))
    assert isinstance(record, dict)
    return DayEvent(envelope, name, body, record)


def simulated_day(
    patients: int, seed: int, *, org: str = "org-day", reject_rate: float = 0.2
) -> tuple[PumpedApp, list[DayEvent]]:
    """A day with rejections, criticals (some escalated) and amended reports among its
    ``patients`` visits; the clock moves a few minutes per visit."""
    app = PumpedApp()
    run_day(
        app.pumped_bus(),
        app.catalog,
        organization_id=org,
        patients=patients,
        seed=seed,
        today=date(2024, 6, 15),
        critical_rate=0.4,
        reject_rate=reject_rate,
        on_visit=lambda _n: app.clock.advance(minutes=7),
        concurrency=1,  # the fakes are one in-memory "database", not for threads
    )
    return app, [decoded(e) for e in app.uow.committed]
