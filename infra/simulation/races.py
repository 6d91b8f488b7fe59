"""Staff who try again when the system says "changed concurrently", as people do.

A command that lost an optimistic-concurrency race (a processor's escalation saved the result
between a pathologist's read and write; over the API, 409 ``concurrency_conflict``) wrote
nothing and is not an answer about the lab's state: the person sends it again. Any other
refusal is the domain's answer and goes back to the caller.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from domains.shared.bus import lost_a_race, send_retrying_races
from domains.shared.errors import ConcurrencyConflict
from domains.shared.messages import Command
from infra.http.client import ApiError

Send = Callable[[Command], Any]


class RetryingRaces:
    """``send`` that sends a command again when it lost a race (see the module doc)."""

    def __init__(self, send: Send, attempts: int = 5) -> None:
        self._send, self._attempts = send, attempts

    def __call__(self, command: Command) -> Any:
        return send_retrying_races(self._send, command, self._attempts, lost_race)


def lost_race(exc: Exception) -> bool:
    if isinstance(exc, ApiError):
        return exc.status == 409 and exc.problem.get("code") == ConcurrencyConflict.code
    return lost_a_race(exc)


def retrying_races(send: Send) -> Send:
    return send if isinstance(send, RetryingRaces) else RetryingRaces(send)
