"""Simulated staff send a command again when it lost a race ("changed concurrently", from the
bus or as the API's 409 concurrency_conflict), and take every other refusal as the answer."""

from __future__ import annotations

from typing import Any

import pytest

from domains.result.commands import AcknowledgeCriticalValue
from domains.shared.errors import ConcurrencyConflict, IllegalTransition
from domains.shared.messages import Command
from infra.http.client import ApiError
from infra.simulation.races import RetryingRaces, retrying_races

ACK = AcknowledgeCriticalValue(
    organization_id="org-1", user_id="tech-1", result_id="res-1", critical_id="crit-1",
    acknowledged_by="Dr A", called_by="tech-1", read_back_confirmed=True,
)  # fmt: skip


class Failing:
    def __init__(self, *errors: Exception) -> None:
        self.errors, self.sent = list(errors), 0

    def __call__(self, command: Command) -> dict[str, Any]:
        self.sent += 1
        if self.errors:
            raise self.errors.pop(0)
        return {"acknowledged": command.command_id}


def test_a_lost_race_from_the_bus_or_the_api_is_sent_again_with_the_same_command_id() -> None:
    send = Failing(
        ConcurrencyConflict("Result", "res-1", 4),
        ApiError(409, {"status": 409, "code": "concurrency_conflict", "detail": "changed"}),
    )
    assert retrying_races(send)(ACK) == {"acknowledged": ACK.command_id}
    assert send.sent == 3


@pytest.mark.parametrize(
    "error",
    [
        IllegalTransition("Result", "acknowledged", "acknowledge again"),
        ApiError(409, {"status": 409, "code": "illegal_transition", "detail": "closed"}),
        ApiError(422, {"status": 422, "code": "invalid_input", "detail": "bad"}),
    ],
)
def test_any_other_refusal_is_the_answer_at_once(error: Exception) -> None:
    send = Failing(error)
    with pytest.raises(type(error)):
        retrying_races(send)(ACK)
    assert send.sent == 1


def test_races_lost_every_time_end_in_the_last_error_and_wrapping_twice_does_not_multiply() -> None:
    send = Failing(*[ConcurrencyConflict("Result", "res-1", n) for n in range(10)])
    wrapped = retrying_races(send)
    assert retrying_races(wrapped) is wrapped
    assert isinstance(wrapped, RetryingRaces)
    with pytest.raises(ConcurrencyConflict, match="expected version 4"):
        wrapped(ACK)
    assert send.sent == 5
