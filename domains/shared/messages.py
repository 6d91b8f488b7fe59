"""Base Command and Event types and the metadata every published event carries.

Commands are imperatives (``CollectSample``), events past tense (``SampleCollected``); both are
plain frozen dataclasses. An event class holds only its payload; the unit of work stamps the
``EventMetadata`` (ids, version, causation) when it writes the event to the outbox.
"""

from __future__ import annotations

import json
from dataclasses import MISSING, asdict, dataclass, field, fields
from datetime import UTC, date, datetime
from typing import Any, ClassVar

from domains.shared.errors import InvalidInput
from domains.shared.ids import new_id

# Longest command/correlation/causation id a command may carry (the command log's columns).
MAX_ID_LENGTH = 128


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

    def __post_init__(self) -> None:
        # These ids may come from outside (a client's X-Correlation-ID, an idempotency key):
        # refuse a bad one here, by name, before a handler runs, rather than as a database
        # error at commit or as a broken Kafka header. A subclass that adds its own
        # __post_init__ must call super().__post_init__().
        _check_id("command_id", self.command_id)
        _check_id("correlation_id", self.correlation_id)
        if self.causation_id is not None:
            _check_id("causation_id", self.causation_id)

    @property
    def command_type(self) -> str:
        return type(self).__name__

    def canonical_payload(self) -> bytes:
        """What the command asks for, as canonical JSON bytes: its type and every field but the
        message's own ids (command, correlation, causation), so a resend under one command id
        is told apart from a different request reusing it. A field left at its default is left
        out, so a field added later (with a default) does not change older commands' bytes."""
        values = asdict(self)
        body = {
            f.name: values[f.name]
            for f in fields(self)
            if f.name not in _MESSAGE_IDS and not _is_default(f, values[f.name])
        }
        text = json.dumps(
            {"type": self.command_type, "fields": body},
            sort_keys=True,
            separators=(",", ":"),
            ensure_ascii=False,
            default=_json_scalar,
        )
        return text.encode()


_MESSAGE_IDS = frozenset({"command_id", "correlation_id", "causation_id"})


def _is_default(f: Any, value: Any) -> bool:
    if f.default is not MISSING:
        return bool(value == f.default)
    if f.default_factory is not MISSING:
        return bool(value == f.default_factory())
    return False


def _json_scalar(value: Any) -> str:
    if isinstance(value, datetime | date):
        return value.isoformat()
    raise TypeError(f"{type(value).__name__} is not a command field type")


def _check_id(field_name: str, value: object) -> None:
    if not isinstance(value, str) or not value:
        raise InvalidInput(field_name, "must be a non-empty string")
    if len(value) > MAX_ID_LENGTH:
        raise InvalidInput(field_name, f"must be at most {MAX_ID_LENGTH} characters")
    if not value.isprintable() or any(c.isspace() for c in value):
        raise InvalidInput(field_name, "must be printable characters without whitespace")


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
