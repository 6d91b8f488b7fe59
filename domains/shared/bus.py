"""The message bus: one path for every state change, whoever issues the command."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import structlog

from domains.shared.errors import ConcurrencyConflict, Conflict, DomainError
from domains.shared.messages import Command
from domains.shared.uow import AbstractUnitOfWork, Outcome

Handler = Callable[[Any, AbstractUnitOfWork], Outcome]
log = structlog.get_logger(__name__)


class UnknownCommand(LookupError):
    pass


class DuplicateCommand(Exception):
    """Raised by a unit of work's commit when the command log already holds this command id:
    a concurrent send of the same command committed first. The bus answers with its outcome."""

    def __init__(self, command_id: str) -> None:
        super().__init__(f"command {command_id} was handled concurrently")
        self.command_id = command_id


class MessageBus:
    """Dispatches a command to its handler by class, inside a fresh unit of work.

    A command whose id was handled before returns the first outcome and changes nothing; an id
    already used for another type of command, or for the same type with another payload, is a
    Conflict (a client bug: answering with the other command's outcome would report success for
    something that never happened, e.g. a STAT order answered with the routine one's outcome).
    """

    def __init__(
        self,
        uow_factory: Callable[[], AbstractUnitOfWork],
        handlers: Mapping[type[Command], Handler],
    ) -> None:
        self.uow_factory = uow_factory
        self.handlers = dict(handlers)

    def handle(self, command: Command, *, fresh_id: bool = False) -> Outcome:
        """``fresh_id``: the caller minted the command id for this very call (the API, when
        the client sent no Idempotency-Key), so no outcome can be logged under it yet and the
        look-up (a round trip) is skipped; the command log still records the outcome."""
        handler = self.handlers.get(type(command))
        if handler is None:
            raise UnknownCommand(type(command).__name__)
        try:
            return self._handle_once(command, handler, fresh_id=fresh_id)
        except (DuplicateCommand, DomainError):
            # A concurrent send of the same command may have won after our first look: either
            # our commit found its command-log row, or our handler already saw its effects (and
            # refused, e.g. "already confirmed"). Either way the answer is the winner's outcome.
            with self.uow_factory() as uow:
                prior = self._prior_outcome(uow, command)
            if prior is None:
                raise
            log.info("command.replayed", command_type=command.command_type, concurrent=True)
            return prior

    def _handle_once(self, command: Command, handler: Handler, *, fresh_id: bool) -> Outcome:
        with self.uow_factory() as uow:
            prior = None if fresh_id else self._prior_outcome(uow, command)
            if prior is not None:
                log.info("command.replayed", command_type=command.command_type)
                return prior
            outcome = handler(command, uow)
            envelopes = uow.commit(command, outcome)
        log.info(
            "command.handled",
            command_type=command.command_type,
            command_id=command.command_id,
            correlation_id=command.correlation_id,
            events=[e.metadata.event_type for e in envelopes],
        )
        return outcome

    @staticmethod
    def _prior_outcome(uow: AbstractUnitOfWork, command: Command) -> Outcome | None:
        logged = uow.logged_command(command.organization_id, command.command_id)
        if logged is None:
            return None
        if logged.command_type != command.command_type:
            raise Conflict(
                f"command id {command.command_id} was already used for {logged.command_type}"
            )
        if logged.payload_hash is not None and logged.payload_hash != uow.fingerprint(command):
            raise Conflict(
                f"command id {command.command_id} was already used for a "
                f"{logged.command_type} with a different payload; send a new command id"
            )
        return logged.outcome


def lost_a_race(exc: Exception) -> bool:
    return isinstance(exc, ConcurrencyConflict)


def send_retrying_races(
    send: Callable[[Command], Any],
    command: Command,
    attempts: int = 5,
    lost_race: Callable[[Exception], bool] = lost_a_race,
) -> Any:
    """Send ``command``; when it lost an optimistic-concurrency race (another writer saved one
    of its aggregates between its read and its write: ``ConcurrencyConflict``, nothing of it
    written, nothing logged), send it again, up to ``attempts`` times. Each attempt reads
    afresh, so the domain decides again on what the winner left: an acknowledgement that raced
    a verification is recorded, a completion that raced an acknowledgement completes. Any other
    refusal is the domain's answer and is raised at once; so is the last lost race.
    ``lost_race`` tells a lost race from other errors (a client of the API: 409
    ``concurrency_conflict``)."""
    for attempt in range(1, attempts + 1):
        try:
            return send(command)
        except Exception as exc:
            if attempt == attempts or not lost_race(exc):
                raise
            log.info(
                "command.race_lost",
                command_type=command.command_type,
                command_id=command.command_id,
                attempt=attempt,
                reason=str(exc),
            )
    raise AssertionError("unreachable")  # pragma: no cover
