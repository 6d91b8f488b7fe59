"""What a processor is, and how it runs on the consumer loop.

A processor is a name and a dict ``{EventClass: reaction}``. A reaction reads one event and
returns the commands it calls for; it changes nothing itself. The runtime sends each command
through the message bus, so every change, whoever makes it, takes the one path (command ->
aggregate -> Postgres + outbox in one transaction). Each command is made by ``command_for``:

- ``command_id = derived_id(processor, event_id[, part])``: a redelivered event issues the same
  command, and the command log answers it with the first outcome (never a second effect);
- ``causation_id = event_id`` and the event's ``correlation_id``: the flow's causation tree
  runs from the staff command through every reaction (``lis trace``);
- ``organization_id`` from the event (a tenant's events only ever cause its own commands) and
  no ``user_id`` (nobody issued it; the events say so).

A command the domain refuses (``DomainError``: the sample was rejected meanwhile, the order is
not complete yet) is the domain's answer, not a poison message: it is logged and counted, and
the event is done; so is a ``DomainError`` raised while a reaction reads state (``Deps``: the
order it names is not in this organization). A command that only lost a race (another writer
saved the aggregate between its read and its write: ``ConcurrencyConflict``) is not an answer:
it is sent again, reading afresh, and if it keeps losing the event is retried by the loop
(``TransientError``), so a race never drops a completion or a report. Reactions return their
commands as a list once their reading is done, so no read transaction is open while a command
runs. Anything else is the consumer loop's business: transient failures are retried, the rest
dead-lettered with the cause.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

import structlog
from sqlalchemy.orm import Session

from consumers.base import Received, TransientError
from domains.catalog.model import Catalog
from domains.shared.bus import send_retrying_races
from domains.shared.errors import ConcurrencyConflict, DomainError
from domains.shared.ids import derived_id
from domains.shared.messages import Command, Event, EventEnvelope
from domains.shared.uow import AbstractUnitOfWork, Outcome
from producers.topics import Topics
from schemas.catalog import event_classes

log = structlog.get_logger(__name__)

C = TypeVar("C", bound=Command)
Reaction = Callable[[EventEnvelope], Iterable[Command]]
Send = Callable[[Command], Outcome]


@dataclass(frozen=True)
class Deps:
    """What a processor factory may use. Reactions read domain state only through the unit of
    work's repositories (a read, in a transaction of its own), never by writing: changes go
    through the commands they return."""

    catalog: Catalog
    uow_factory: Callable[[], AbstractUnitOfWork]


@dataclass(frozen=True)
class Processor:
    name: str  # consumer group suffix, inbox consumer, dead-letter topic suffix, command ids
    reactions: Mapping[type[Event], Reaction]

    def topics(self, topics: Topics) -> list[str]:
        """The topics its events are published on, in the contract's order."""
        wanted = {topics.for_event(cls) for cls in self.reactions}
        return [t for t in topics.events if t in wanted]


def command_for(
    processor: str, envelope: EventEnvelope, command: type[C], *, part: str = "", **fields: Any
) -> C:
    """The command ``processor`` issues in reaction to ``envelope`` (see the module doc).
    ``part`` tells apart several commands issued for one event."""
    meta = envelope.metadata
    ids = (processor, meta.event_id, part) if part else (processor, meta.event_id)
    return command(
        organization_id=meta.organization_id,
        user_id=None,
        command_id=derived_id(*ids),
        correlation_id=meta.correlation_id,
        causation_id=meta.event_id,
        **fields,
    )


class ProcessorHandler:
    """A processor as a consumer-loop handler (``consumers.base.Handler``)."""

    def __init__(self, processor: Processor, topics: Topics, send: Send) -> None:
        self.processor = processor
        self.name = processor.name
        self.topics: Sequence[str] = processor.topics(topics)
        self._send = send
        self.sent = self.refused = 0

    def handle(self, message: Received, session: Session) -> None:
        event_class = event_classes().get(message.schema_name)
        reaction = self.processor.reactions.get(event_class) if event_class else None
        if reaction is None:
            return  # another event of a topic it reads: nothing to do
        envelope = message.envelope
        try:
            commands = list(reaction(envelope))
        except DomainError as exc:  # what it read is gone or not ours (NotFound): an answer too
            self._refused(exc, "(reading)")
            return
        for command in commands:
            try:
                send_retrying_races(self._send, command)
                self.sent += 1
            except ConcurrencyConflict as exc:  # still racing: the event again, read afresh
                raise TransientError(f"{command.command_type}: {exc}") from exc
            except DomainError as exc:
                self._refused(exc, command.command_type)

    def _refused(self, exc: DomainError, command_type: str) -> None:
        self.refused += 1
        log.info("processor.refused", command_type=command_type, code=exc.code, reason=str(exc))
