"""Issue 12, defect 13, on real Postgres: a rejection and a result entry racing on one tube
cannot both win (two concurrent transactions)."""

from __future__ import annotations

import threading
import time
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

import pytest
from sqlalchemy import Engine

from domains.sample.commands import RejectSample
from domains.shared.bus import Handler, MessageBus
from domains.shared.errors import ConcurrencyConflict, Conflict
from domains.shared.uow import AbstractUnitOfWork, Outcome
from tests.integration.db.test_persistence_consistency import (
    ORG,
    enter,
    sample_on_confirmed_order,
    scalar,
)

pytestmark = pytest.mark.integration


def pausing_after_its_reads(
    handler: Handler, read: threading.Event, go: threading.Event
) -> Handler:
    def run(command: Any, uow: AbstractUnitOfWork) -> Outcome:
        outcome = handler(command, uow)  # every read and decision made, nothing written yet
        read.set()
        assert go.wait(timeout=20)
        return outcome

    return run


def waits_on_a_lock(engine: Engine) -> bool:
    query = (
        "SELECT count(*) FROM pg_stat_activity "
        "WHERE datname = current_database() AND wait_event_type = 'Lock'"
    )
    return bool(scalar(engine, query))


def test_an_entry_racing_a_rejection_never_leaves_a_rejected_tube_with_a_result(
    bus: MessageBus, engine: Engine
) -> None:
    """The rejection has looked at the tube's results (none) and decided; then a result is
    entered. Before the fix the entry committed and the rejection after it: a rejected tube
    carrying a live result. Now the rejection holds the tube from its first look, so the entry
    waits for it and then fails its check of the tube."""
    ids = sample_on_confirmed_order(bus)
    read, go = threading.Event(), threading.Event()
    rejecting = MessageBus(bus.uow_factory, bus.handlers)
    rejecting.handlers[RejectSample] = pausing_after_its_reads(bus.handlers[RejectSample], read, go)
    reject = RejectSample(organization_id=ORG, sample_id=ids["sample_id"], reason_code="clotted")
    with ThreadPoolExecutor(2) as pool:
        rejection: Future[Outcome] = pool.submit(rejecting.handle, reject)
        assert read.wait(timeout=20)
        entry: Future[Outcome] = pool.submit(bus.handle, enter(ids["sample_id"]))
        deadline = time.monotonic() + 20
        while not entry.done() and not waits_on_a_lock(engine):
            assert time.monotonic() < deadline, "the entry neither finished nor waited"
            time.sleep(0.02)
        go.set()
        rejection_error = rejection.exception(timeout=20)
        entry_error = entry.exception(timeout=20)

    sample_status = scalar(engine, "SELECT status FROM samples WHERE id = :id", id=ids["sample_id"])
    results = scalar(
        engine, "SELECT count(*) FROM results WHERE sample_id = :id", id=ids["sample_id"]
    )
    assert not (sample_status == "rejected" and results > 0), (rejection_error, entry_error)
    assert rejection_error is None
    assert sample_status == "rejected"
    assert isinstance(entry_error, ConcurrencyConflict)
    assert results == 0


def test_a_result_entered_first_keeps_the_tube_from_being_rejected(bus: MessageBus) -> None:
    ids = sample_on_confirmed_order(bus)
    bus.handle(enter(ids["sample_id"]))
    with pytest.raises(Conflict, match="already has results"):
        bus.handle(
            RejectSample(organization_id=ORG, sample_id=ids["sample_id"], reason_code="clotted")
        )
