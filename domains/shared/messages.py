"""Base Command and Event types and the metadata every published event carries.

Commands are imperatives (``CollectSample``), events past tense (``SampleCollected``); both are
plain frozen dataclasses. An event class holds only its payload; the unit of work stamps the
``EventMetadata`` (ids, version, causation) when it writes the event to the outbox.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from datetime import UTC, datetime
from typing import Any, ClassVar

from domains.shared.ids import new_id


@dataclass(frozen=True, kw_only=True)
class Command:
    """Every command names who issues it, for which organization, and which flow it belongs to.

    ``causation_id`` is left empty for a command issued by a person (its events are then caused
    by the command itself); a processor reacting to event E sets it to E's event_id, so the
    causation chain runs event to event as DESIGN.md describes.
    """

    organization_id: str
    user_id: str | None = None
    command_id: str = field(default_factory=new_id)
    correlation_id: str = field(default_factory=new_id)
    causation_id: str | None = None

    @property
    def command_type(self) -> str:
        return type(self).__name__


@dataclass(frozen=True, kw_only=True)
class Event:
    """A domain event's payload. Subclasses set the two class attributes below."""

    event_type: ClassVar[str]  # e.g. "SAMPLE_COLLECTED", as in DESIGN.md
    aggregate_type: ClassVar[str]  # e.g. "Sample"

    def payload(self) -> dict[str, Any]:
        """Field values, shallow (nested dataclasses stay objects)."""
        return {f.name: getattr(self, f.name) for f in fields(self)}


@dataclass(frozen=True, kw_only=True)
class EventMetadata:
    """``lis.EventMetadata``: the envelope fields every event on Kafka carries."""

    event_id: str
    event_type: str
    aggregate_type: str
    aggregate_id: str
    aggregate_version: int
    organization_id: str
    user_id: str | None
    occurred_at: datetime
    correlation_id: str
    causation_id: str


@dataclass(frozen=True, kw_only=True)
class EventEnvelope:
    """An event with its metadata: what goes to the outbox and onto the topic."""

    metadata: EventMetadata
    event: Event


def utcnow() -> datetime:
    return datetime.now(UTC)


def stamp(
    event: Event,
    *,
    aggregate_id: str,
    aggregate_version: int,
    command: Command,
    occurred_at: datetime | None = None,
) -> EventEnvelope:
    """Wrap an event raised while handling ``command`` in its metadata."""
    return EventEnvelope(
        metadata=EventMetadata(
            event_id=new_id(),
            event_type=event.event_type,
            aggregate_type=event.aggregate_type,
            aggregate_id=aggregate_id,
            aggregate_version=aggregate_version,
            organization_id=command.organization_id,
            user_id=command.user_id,
            occurred_at=occurred_at or utcnow(),
            correlation_id=command.correlation_id,
            causation_id=command.causation_id or command.command_id,
        ),
        event=event,
    )
