"""The Redis read models on the real Redis: what a day's events build (documents, the MRN index,
the sample timeline, the worklists), that duplicates and any delivery order build the very same
model, and that an older version never overwrites a newer one."""

from __future__ import annotations

import json
import random
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
import redis

from consumers.read_models import keys
from consumers.read_models.handler import ReadModelHandler
from consumers.read_models.projection import project
from domains.order.model import Order
from domains.result.commands import AcknowledgeCriticalValue, AmendResult, EnterResult
from domains.sample.commands import CollectSample, ReceiveSample, RejectSample
from domains.sample.model import Sample
from infra.config.settings import Settings
from infra.redis.store import RedisReadModelStore, redis_client
from infra.redis.views import dump, order_view, sample_view, worklist
from producers.topics import Topics
from tests.integration.day_events import DayEvent, decoded, simulated_day
from tests.unit.domains.conftest import ORG, POTASSIUM, order, register
from tests.unit.processor_pump import PumpedApp

pytestmark = pytest.mark.integration


@pytest.fixture
def client(postgres: Settings) -> Iterator[redis.Redis[bytes]]:
    client = redis_client(postgres.redis_url)
    yield client
    client.close()


@pytest.fixture
def prefixes(client: redis.Redis[bytes]) -> Iterator[list[str]]:
    """Fresh key prefixes for a test (every key under them deleted afterwards)."""
    made: list[str] = []
    yield made
    for prefix in made:
        doomed = list(client.scan_iter(match=f"{prefix}*", count=1000))
        if doomed:
            client.delete(*doomed)


def store(client: redis.Redis[bytes], prefixes: list[str]) -> RedisReadModelStore:
    prefixes.append(f"t:rm:{uuid.uuid4().hex[:10]}:")
    return RedisReadModelStore(client, prefixes[-1])


def apply(target: RedisReadModelStore, events: list[DayEvent], batch: int = 50) -> None:
    handler = ReadModelHandler(Topics(), target)
    ops = [project(e.schema_name, e.record) for e in events]
    for start in range(0, len(ops), batch):
        handler.apply(ops[start : start + batch])


def new_events(app: PumpedApp, since: int) -> list[DayEvent]:
    return [decoded(e) for e in app.uow.committed[since:]]


@pytest.fixture(scope="module")
def day() -> tuple[PumpedApp, list[DayEvent]]:
    return simulated_day(patients=12, seed=17)


class TestDelivery:
    def test_duplicates_and_any_delivery_order_build_the_same_model(
        self,
        client: redis.Redis[bytes],
        prefixes: list[str],
        day: tuple[PumpedApp, list[DayEvent]],
    ) -> None:
        _app, events = day
        in_order = store(client, prefixes)
        apply(in_order, events)
        expected = dump(client, in_order.prefix)
        assert len(expected) > 100

        for seed in (1, 2, 3):
            rng = random.Random(seed)
            shuffled = events + rng.sample(events, k=len(events) // 3)  # a third twice
            rng.shuffle(shuffled)
            scrambled = store(client, prefixes)
            apply(scrambled, shuffled, batch=rng.randint(1, 40))

            assert dump(client, scrambled.prefix) == expected, f"seed {seed}"

    def test_an_older_version_never_overwrites_a_newer_one(
        self, client: redis.Redis[bytes], prefixes: list[str]
    ) -> None:
        app = PumpedApp()
        order_id = order(app, register(app)["patient_id"], POTASSIUM, priority="stat")
        since = len(app.uow.committed)
        sample_id = app.handle(
            CollectSample(organization_id=ORG, order_id=order_id, specimen_type="serum")
        )["sample_id"]
        app.handle(ReceiveSample(organization_id=ORG, sample_id=sample_id))  # then routed
        collected, received, routed = new_events(app, since)
        target = store(client, prefixes)

        apply(target, [routed, received, collected, received])

        view = sample_view(client, sample_id, target.prefix)
        assert view is not None
        assert (view["status"], view["version"], view["bench"]) == (
            "routed", "3", "chemistry-analyzer",
        )  # fmt: skip
        assert view["received_at"] == received.record["received_at"].isoformat()
        assert [t["event_type"] for t in view["timeline"]] == [
            "SAMPLE_COLLECTED", "SAMPLE_RECEIVED", "SAMPLE_ROUTED",
        ]  # fmt: skip
        versions = client.hgetall(f"{target.prefix}{keys.VERSIONS}{keys.sample(sample_id)}")
        assert versions[b"status"] == b"3"


class TestDocuments:
    def test_a_day_builds_patients_orders_samples_and_results_with_their_links(
        self,
        client: redis.Redis[bytes],
        prefixes: list[str],
        day: tuple[PumpedApp, list[DayEvent]],
    ) -> None:
        app, events = day
        target = store(client, prefixes)
        apply(target, events)
        first = events[0].envelope.metadata
        patient = client.hgetall(target.prefix + keys.patient(first.aggregate_id))
        mrn = patient[b"mrn"].decode()
        assert patient[b"status"] == b"active"
        assert b"aadhaar_masked" in patient
        assert client.hget(target.prefix + keys.patient_by_mrn(mrn), "org-day") == (
            first.aggregate_id.encode()
        )
        everything = json.dumps(dump(client, target.prefix))
        with app.uow as uow:
            orders = uow.repository(Order).list_by("org-day", patient_id=first.aggregate_id)
            samples = uow.repository(Sample).list_by("org-day", order_id=orders[0].id)
        for person in app.uow.tables["Patient"].values():  # Aadhaar and mobiles: masked only
            assert person[1]["mobile"] not in everything

        view = order_view(client, orders[0].id, target.prefix)
        assert view is not None
        assert view["status"] == "completed"
        assert view["report"]["status"] == "delivered"
        assert set(view["samples"]) == {s.id for s in samples}
        assert {r["status"] for r in view["results"].values()} == {"verified"}
        assert len(view["results"]) == len(orders[0].tests)
        assert json.loads(view["tests"])[0]["loinc_code"] == orders[0].tests[0].loinc_code

    def test_the_mrn_index_tells_organizations_apart(
        self, client: redis.Redis[bytes], prefixes: list[str]
    ) -> None:
        one, other = PumpedApp(), PumpedApp()  # each numbers its patients from the first MRN
        a = register(one)["patient_id"]
        b = register(other, organization_id="org-2")["patient_id"]
        target = store(client, prefixes)
        apply(target, new_events(one, 0) + new_events(other, 0))
        mrn = one.uow.tables["Patient"][a][1]["mrn"]
        index = client.hgetall(target.prefix + keys.patient_by_mrn(mrn))
        assert index == {ORG.encode(): a.encode(), b"org-2": b.encode()}


class TestWorklists:
    def test_the_bench_queue_is_stat_first_then_by_receipt_and_drops_finished_samples(
        self, client: redis.Redis[bytes], prefixes: list[str]
    ) -> None:
        app = PumpedApp()
        patient = register(app)["patient_id"]
        samples = {}
        for priority in ("routine", "stat", "urgent", "routine"):  # received in this order
            order_id = order(app, patient, POTASSIUM, priority=priority)
            sample_id = app.handle(
                CollectSample(organization_id=ORG, order_id=order_id, specimen_type="serum")
            )["sample_id"]
            app.clock.advance(minutes=2)
            app.handle(ReceiveSample(organization_id=ORG, sample_id=sample_id))
            samples.setdefault(priority, []).append(sample_id)
        target = store(client, prefixes)
        apply(target, new_events(app, 0))
        queue = keys.bench_queue(ORG, "chemistry-analyzer")
        assert worklist(client, queue, target.prefix) == [
            samples["stat"][0], samples["urgent"][0], *samples["routine"],
        ]  # fmt: skip

        since = len(app.uow.committed)
        app.handle(
            EnterResult(
                organization_id=ORG, user_id="tech-1", sample_id=samples["stat"][0],
                loinc_code=POTASSIUM, value_text="4.1", unit="mmol/L",
            )
        )  # fmt: skip
        app.handle(
            RejectSample(
                organization_id=ORG, sample_id=samples["routine"][0], reason_code="clotted"
            )
        )
        apply(target, new_events(app, since))

        assert worklist(client, queue, target.prefix) == [
            samples["urgent"][0], samples["routine"][1],
        ]  # fmt: skip

    def test_a_rejected_sample_awaits_recollection_until_a_new_tube_is_drawn(
        self, client: redis.Redis[bytes], prefixes: list[str]
    ) -> None:
        app = PumpedApp()
        order_id = order(app, register(app)["patient_id"], POTASSIUM)
        first = app.handle(
            CollectSample(organization_id=ORG, order_id=order_id, specimen_type="serum")
        )["sample_id"]
        app.handle(RejectSample(organization_id=ORG, sample_id=first, reason_code="hemolyzed"))
        target = store(client, prefixes)
        apply(target, new_events(app, 0))
        recollect = keys.recollections(ORG)
        assert worklist(client, recollect, target.prefix) == [first]
        rejected = sample_view(client, first, target.prefix)
        assert rejected is not None
        assert (rejected["rejection_reason"], rejected["order_id"]) == ("hemolyzed", order_id)

        since = len(app.uow.committed)
        app.clock.advance(minutes=20)
        app.handle(CollectSample(organization_id=ORG, order_id=order_id, specimen_type="serum"))
        apply(target, new_events(app, since))

        assert worklist(client, recollect, target.prefix) == []

    def test_a_critical_value_is_listed_until_acknowledged_or_superseded(
        self, client: redis.Redis[bytes], prefixes: list[str]
    ) -> None:
        app = PumpedApp()
        patient = register(app)["patient_id"]
        criticals: list[str] = []
        for _ in range(2):
            order_id = order(app, patient, POTASSIUM)
            sample_id = app.handle(
                CollectSample(organization_id=ORG, order_id=order_id, specimen_type="serum")
            )["sample_id"]
            app.handle(ReceiveSample(organization_id=ORG, sample_id=sample_id))
            app.clock.advance(minutes=1)
            criticals.append(
                app.handle(
                    EnterResult(
                        organization_id=ORG, user_id="tech-1", sample_id=sample_id,
                        loinc_code=POTASSIUM, value_text="7.4", unit="mmol/L",
                    )
                )["result_id"]
            )  # fmt: skip
        target = store(client, prefixes)
        apply(target, new_events(app, 0))
        listed = keys.criticals(ORG)
        assert worklist(client, listed, target.prefix) == criticals  # by detection time

        since = len(app.uow.committed)
        app.handle(
            AcknowledgeCriticalValue(
                organization_id=ORG, user_id="tech-1", result_id=criticals[0],
                acknowledged_by="Sr. Nurse Thomas", called_by="tech-1", read_back_confirmed=True,
            )
        )  # fmt: skip
        app.handle(
            AmendResult(
                organization_id=ORG, user_id="tech-2", result_id=criticals[1],
                value_text="4.4", unit="mmol/L", reason="contaminated with EDTA, redrawn",
            )
        )  # fmt: skip
        apply(target, new_events(app, since))

        assert worklist(client, listed, target.prefix) == []
        result: dict[bytes, Any] = client.hgetall(target.prefix + keys.result(criticals[1]))
        states = {k: v for k, v in result.items() if k.endswith(b".status")}
        assert list(states.values()) == [b"superseded"]


def test_a_batch_with_an_unknown_operation_writes_nothing(
    client: redis.Redis[bytes], prefixes: list[str]
) -> None:
    target = store(client, prefixes)
    good = ["h", "patient:p-1", "status", "active", 1]
    with pytest.raises(redis.ResponseError, match="operation 2 is unknown"):
        target.apply([good, ["drop", "everything"]])
    assert list(client.scan_iter(match=f"{target.prefix}*")) == []
