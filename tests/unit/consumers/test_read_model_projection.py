"""The read-model projection on its own: every event a simulated day produces lands on the
documented keys only, with contacts masked; a batch coalesces to the newest value per field
without touching what it merged; a record missing what its type promises is poison."""

from __future__ import annotations

import copy
import io
import random
import re
from datetime import date
from typing import Any

import fastavro
import pytest

from consumers.read_models.ops import coalesce
from consumers.read_models.projection import AGGREGATES, PROJECTORS, ProjectionError, project
from domains.events import ALL_EVENTS
from domains.shared.bus import MessageBus
from domains.shared.messages import Command
from domains.shared.uow import Outcome
from infra.simulation.day import run_day
from schemas.avro_codec import default_codec, encode
from tests.unit.processor_pump import PumpedApp

KEY = re.compile(r"^(patient:mrn:[^:]+|(patient|order|sample|result):[0-9a-f-]{36})$")


class _Bus(MessageBus):
    def __init__(self, app: PumpedApp) -> None:
        super().__init__(app.bus.uow_factory, app.bus.handlers)
        self.app = app

    def handle(self, command: Command) -> Outcome:
        return self.app.handle(command)


@pytest.fixture(scope="module")
def day() -> tuple[PumpedApp, list[tuple[str, dict[str, Any]]]]:
    app = PumpedApp()
    run_day(
        _Bus(app), app.catalog, organization_id="org-1", patients=6, seed=5,
        today=date(2024, 6, 15), critical_rate=0.5, reject_rate=0.3, concurrency=1,
    )  # fmt: skip
    decoded = []
    for envelope in app.uow.committed:
        name, body = encode(envelope)
        record = fastavro.schemaless_reader(io.BytesIO(body), default_codec().parsed_schema(name))
        assert isinstance(record, dict)
        decoded.append((name, record))
    return app, decoded


def test_every_event_of_the_projected_aggregates_has_a_projector() -> None:
    missing = [
        cls.__name__
        for cls in ALL_EVENTS
        if cls.aggregate_type in AGGREGATES and cls not in PROJECTORS
    ]
    assert missing == [], "project these into the read models (consumers/read_models)"


def test_a_days_events_write_only_the_documented_keys_and_never_a_contact_in_the_clear(
    day: tuple[PumpedApp, list[tuple[str, dict[str, Any]]]],
) -> None:
    app, events = day
    ops = [op for name, record in events for op in project(name, record)]
    assert {op[0] for op in ops} == {"h", "s", "bench", "crit", "recoll"}
    assert [op[1] for op in ops if not KEY.match(op[1])] == []
    written = repr(ops)
    for _org, snapshot, _version in app.uow.tables["Patient"].values():
        assert snapshot["mobile"] not in written
        assert snapshot["aadhaar_token"] not in written


def test_a_batch_keeps_each_fields_newest_value_and_recomputes_once_after_the_writes() -> None:
    older = ("h", "sample:s", 2, {"status": "received", "received_at": "t2"})
    newer = ("h", "sample:s", 3, {"status": "routed"})
    facts_a = ("s", "sample:s", {"sample_id": "s"})
    facts_b = ("s", "sample:s", {"bench": "b"})
    refresh = ("bench", "sample:s", "s")
    ops = [refresh, newer, facts_a, older, refresh, facts_b]
    before = copy.deepcopy(ops)

    wire = coalesce(ops)

    assert ops == before  # what was merged is untouched (the batch may be retried one by one)
    put, facts, recompute = wire
    fields = {put[i]: (put[i + 1], put[i + 2]) for i in range(2, len(put), 3)}
    assert fields == {"status": ("routed", 3), "received_at": ("t2", 2)}
    assert facts == ["s", "sample:s", "sample_id", "s", "bench", "b"]
    assert recompute == ["bench", "sample:s", "s"]


def test_a_lone_write_goes_out_with_its_one_version() -> None:
    wire = coalesce([("h", "result:r", 4, {"status": "verified", "verified_by": None})])
    assert wire == [["H", "result:r", 4, "status", "verified", "verified_by", None]]


def test_any_order_of_a_batch_coalesces_to_the_same_writes(
    day: tuple[PumpedApp, list[tuple[str, dict[str, Any]]]],
) -> None:
    _app, events = day
    ops = [op for name, record in events for op in project(name, record)]

    def settled(wire: list[list[Any]]) -> dict[Any, Any]:
        out: dict[Any, Any] = {}
        for op in wire:
            if op[0] == "H":
                pairs = {op[i]: (op[i + 1], op[2]) for i in range(3, len(op), 2)}
            elif op[0] == "h":
                pairs = {op[i]: (op[i + 1], op[i + 2]) for i in range(2, len(op), 3)}
            elif op[0] == "s":
                pairs = {op[i]: op[i + 1] for i in range(2, len(op), 2)}
            else:
                pairs = {}
            out[(op[0] in "hH", op[1], *([] if pairs else op[2:]))] = pairs
        return out

    expected = settled(coalesce(ops))
    shuffled = ops[:]
    random.Random(7).shuffle(shuffled)
    assert settled(coalesce(shuffled)) == expected


def test_a_record_without_what_its_type_promises_is_poison(
    day: tuple[PumpedApp, list[tuple[str, dict[str, Any]]]],
) -> None:
    _app, events = day
    name, record = next((n, r) for n, r in events if n.endswith("SampleReceived"))
    broken = {k: v for k, v in record.items() if k != "received_at"}
    with pytest.raises(ProjectionError, match="SampleReceived cannot be projected"):
        project(name, broken)


def test_events_the_read_models_do_not_show_project_to_nothing() -> None:
    assert project("lis.payment.PaymentReceived", {"metadata": {}}) == []
    assert project("lis.some.FutureEvent", {}) == []


def test_an_order_names_its_clinician_for_the_apis_clinician_reads(
    day: tuple[PumpedApp, list[tuple[str, dict[str, Any]]]],
) -> None:
    created = [(name, r) for name, r in day[1] if name.endswith("OrderCreated")]
    assert created
    for name, record in created:
        writes = [w for op in project(name, record) for w in op[2:]]
        fields: dict[str, Any] = {}
        for write in writes:
            if isinstance(write, dict):
                fields.update(write)
        assert fields["ordering_provider_id"] == record["ordering_provider_id"]
        assert record["ordering_provider_id"]  # the simulated clinicians are in the directory
