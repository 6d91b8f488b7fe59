"""Property: whatever commands arrive in whatever order, Order, Sample and Result only ever move
along their transition tables, refused commands change nothing, and versions stay gapless."""

from __future__ import annotations

import itertools
from collections import defaultdict
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from domains.order.commands import CancelOrder, CompleteOrder, ConfirmOrder
from domains.order.model import Order
from domains.result.commands import (
    AcknowledgeCriticalValue,
    AmendResult,
    EnterResult,
    EscalateCriticalValue,
    VerifyResult,
)
from domains.result.model import Result
from domains.sample.commands import CollectSample, ReceiveSample, RejectSample, RouteSample
from domains.sample.model import Sample
from domains.shared.errors import DomainError
from domains.shared.messages import Command
from tests.unit.domains.conftest import ORG, POTASSIUM, SODIUM, order, register
from tests.unit.fakes import FakeApp

STATE_AFTER = {
    "ORDER_CREATED": "created",
    "ORDER_CONFIRMED": "confirmed",
    "ORDER_CANCELLED": "cancelled",
    "ORDER_COMPLETED": "completed",
    "SAMPLE_COLLECTED": "collected",
    "SAMPLE_RECEIVED": "received",
    "SAMPLE_REJECTED": "rejected",
    "SAMPLE_ROUTED": "routed",
    "RESULT_ENTERED": "entered",
    "RESULT_VERIFIED": "verified",
}
TABLES = {"Order": Order.transitions, "Sample": Sample.transitions, "Result": Result.transitions}
VALUES = ["4.2", "6.9", "2.1", "5.6", "abc", "4.0"]


def _command(data: st.DataObject, app: FakeApp, order_id: str) -> Command:
    ids = {k: list(app.uow.tables.get(k, {})) or ["missing"] for k in TABLES}

    def pick(kind: str) -> str:
        return data.draw(st.sampled_from(ids[kind]))

    user = data.draw(st.sampled_from(["tech-1", "path-1"]))
    choices: list[Any] = [
        lambda: ConfirmOrder(organization_id=ORG, order_id=order_id),
        lambda: CancelOrder(organization_id=ORG, order_id=order_id, reason="test"),
        lambda: CompleteOrder(organization_id=ORG, order_id=order_id),
        lambda: CollectSample(organization_id=ORG, order_id=order_id, specimen_type="serum"),
        lambda: ReceiveSample(organization_id=ORG, sample_id=pick("Sample")),
        lambda: RejectSample(
            organization_id=ORG, sample_id=pick("Sample"), reason_code="hemolyzed"
        ),
        lambda: RouteSample(
            organization_id=ORG,
            sample_id=pick("Sample"),
            department="biochemistry",
            bench="chemistry-analyzer",
        ),
        lambda: EnterResult(
            organization_id=ORG,
            user_id="tech-1",
            sample_id=pick("Sample"),
            loinc_code=data.draw(st.sampled_from([POTASSIUM, SODIUM])),
            value_text=data.draw(st.sampled_from(VALUES)),
            unit="mmol/L",
        ),
        lambda: VerifyResult(organization_id=ORG, user_id=user, result_id=pick("Result")),
        lambda: AmendResult(
            organization_id=ORG,
            user_id=user,
            result_id=pick("Result"),
            value_text=data.draw(st.sampled_from(VALUES)),
            unit="mmol/L",
            reason="re-run",
        ),
        lambda: AcknowledgeCriticalValue(
            organization_id=ORG,
            result_id=pick("Result"),
            acknowledged_by="Dr. Rao",
            called_by=user,
            read_back_confirmed=data.draw(st.booleans()),
        ),
        lambda: EscalateCriticalValue(
            organization_id=ORG, result_id=pick("Result"), tier=data.draw(st.integers(0, 3))
        ),
    ]
    command: Command = data.draw(st.sampled_from(choices))()
    return command


def _check_invariants(app: FakeApp) -> None:
    history: dict[str, list[Any]] = defaultdict(list)
    for envelope in app.uow.committed:
        history[envelope.metadata.aggregate_id].append(envelope.metadata)
    for aggregate_id, metas in history.items():
        assert [m.aggregate_version for m in metas] == list(range(1, len(metas) + 1))
        table = TABLES.get(metas[0].aggregate_type)
        if table is None:
            continue
        states = [STATE_AFTER[m.event_type] for m in metas if m.event_type in STATE_AFTER]
        for before, after in itertools.pairwise(states):
            assert after in table[before], (aggregate_id, states)
        row = app.uow.tables[metas[0].aggregate_type][aggregate_id]
        assert row[2] == len(metas)
        assert row[1]["status"] in table
    orders = [Order.restore(r[1], version=r[2]) for r in app.uow.tables["Order"].values()]
    results = [
        Result.restore(r[1], version=r[2]) for r in app.uow.tables.get("Result", {}).values()
    ]
    for o in orders:
        verified = {r.loinc_code for r in results if r.order_id == o.id and r.is_verified}
        if o.status == "completed":
            assert verified >= set(o.loinc_codes)
        if o.status == "cancelled":
            assert not verified


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_no_command_sequence_drives_an_aggregate_into_an_illegal_state(data: st.DataObject) -> None:
    app = FakeApp()
    order_id = order(app, register(app)["patient_id"], POTASSIUM, SODIUM, confirm=False)
    for _ in range(data.draw(st.integers(5, 25))):
        command = _command(data, app, order_id)
        before = len(app.uow.committed)
        try:
            app.handle(command)
        except DomainError:
            assert len(app.uow.committed) == before  # a refusal records nothing
        _check_invariants(app)
