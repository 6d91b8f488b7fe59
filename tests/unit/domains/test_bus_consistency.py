"""The unit of work's guard against decisions on stale reads, on the in-memory adapter.

CancelOrder decides on the order's results but saves only the order; VerifyResult decides on
the result's order but saves only the result. Interleaved, each would pass its own check: the
commit must also check what the handler only read. (The same race on Postgres, with real locks:
tests/integration/test_persistence_consistency.py.)
"""

from __future__ import annotations

from typing import Any

import pytest

from domains.order.commands import CancelOrder
from domains.order.model import Order
from domains.result.commands import VerifyResult
from domains.result.model import Result
from domains.shared.errors import ConcurrencyConflict
from domains.shared.messages import Command
from tests.unit.domains.conftest import ORG, result
from tests.unit.fakes import FakeApp, FakeUnitOfWork


def _decide(app: FakeApp, uow: FakeUnitOfWork, command: Command) -> Any:
    """Run the real handler (its reads and decision) in ``uow`` without committing."""
    return app.bus.handlers[type(command)](command, uow)


@pytest.mark.parametrize("first", ["cancel", "verify"])
def test_a_cancel_and_a_verify_that_read_before_either_commits_cannot_both_commit(
    first: str,
) -> None:
    app = FakeApp()
    entered = result(app)
    cancel = CancelOrder(organization_id=ORG, order_id=entered["order_id"], reason="duplicate")
    verify = VerifyResult(organization_id=ORG, user_id="path-1", result_id=entered["result_id"])
    with app.uow.fork() as cancelling, app.uow.fork() as verifying:
        outcomes = {
            "cancel": (cancelling, cancel, _decide(app, cancelling, cancel)),
            "verify": (verifying, verify, _decide(app, verifying, verify)),
        }
        winner = outcomes.pop(first)
        (loser,) = outcomes.values()
        winner[0].commit(winner[1], winner[2])
        with pytest.raises(ConcurrencyConflict):
            loser[0].commit(loser[1], loser[2])
    order = app.load(Order, entered["order_id"])
    verified = app.load(Result, entered["result_id"]).is_verified
    assert (order.status == "cancelled", verified) == (first == "cancel", first == "verify")


def test_an_aggregate_only_read_does_not_conflict_when_nobody_changed_it() -> None:
    app = FakeApp()
    entered = result(app)
    verify = VerifyResult(organization_id=ORG, user_id="path-1", result_id=entered["result_id"])
    assert app.handle(verify)["status"] == "verified"


def test_a_command_that_changes_nothing_is_not_failed_by_a_stale_read() -> None:
    """Nothing written, no invariant to break: its outcome stands (no spurious conflicts)."""
    app = FakeApp()
    entered = result(app)
    verify = VerifyResult(organization_id=ORG, user_id="path-1", result_id=entered["result_id"])
    with app.uow.fork() as stale:
        stale.repository(Result).get(ORG, entered["result_id"])
        app.handle(verify)
        assert stale.commit(verify, {"looked": True}) == []
