"""What the bus accepts as a command: ids a client may supply, and a command id reused."""

from __future__ import annotations

import pytest

from domains.order.commands import CancelOrder, ConfirmOrder
from domains.order.model import Order
from domains.shared.errors import Conflict, InvalidInput
from domains.shared.messages import MAX_ID_LENGTH
from tests.unit.domains.conftest import ORG, order, register
from tests.unit.fakes import FakeApp


def test_a_command_id_reused_for_another_command_type_is_a_conflict_and_changes_nothing() -> None:
    app = FakeApp()
    order_id = order(app, register(app)["patient_id"], confirm=False)
    app.handle(ConfirmOrder(organization_id=ORG, order_id=order_id, command_id="cmd-7"))
    events = len(app.uow.committed)

    with pytest.raises(Conflict, match="command id cmd-7 was already used for ConfirmOrder"):
        app.handle(
            CancelOrder(organization_id=ORG, order_id=order_id, reason="dup", command_id="cmd-7")
        )

    assert app.load(Order, order_id).status == "confirmed"
    assert len(app.uow.committed) == events


def test_the_same_command_id_and_type_still_replays_the_first_outcome() -> None:
    app = FakeApp()
    order_id = order(app, register(app)["patient_id"], confirm=False)
    confirm = ConfirmOrder(organization_id=ORG, order_id=order_id, command_id="cmd-8")
    assert app.handle(confirm) == app.handle(confirm)


@pytest.mark.parametrize(
    "bad",
    ["", "x" * (MAX_ID_LENGTH + 1), "two words", "tab\there", "line\nbreak", "nul\x00", "\u200b"],
)
@pytest.mark.parametrize("field", ["correlation_id", "causation_id", "command_id"])
def test_a_malformed_client_supplied_id_is_refused_by_name_before_anything_runs(
    field: str, bad: str
) -> None:
    with pytest.raises(InvalidInput) as error:
        ConfirmOrder(organization_id=ORG, order_id="o-1", **{field: bad})
    assert error.value.field == field


@pytest.mark.parametrize("good", ["x" * MAX_ID_LENGTH, "req-42:web/7f3a", "Ünïcode-id"])
def test_non_uuid_correlation_ids_within_bounds_are_accepted(good: str) -> None:
    assert ConfirmOrder(organization_id=ORG, order_id="o-1", correlation_id=good)
