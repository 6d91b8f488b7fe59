"""The naming rules in one place: which record, file, topic and subject an event class maps to.

Everything that touches schemas (generator, codec, registry, governance CLI) goes through these
functions, so a rename happens here or nowhere.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

from domains.shared.messages import Event

SCHEMAS_DIR = Path(__file__).resolve().parent
NAMESPACE = "lis"
METADATA_RECORD = f"{NAMESPACE}.EventMetadata"
METADATA_FILE = "EventMetadata.avsc"


def domain_of(event_cls: type[Event]) -> str:
    return event_cls.aggregate_type.lower()


def record_name_of(event_cls: type[Event]) -> str:
    """Full Avro name, e.g. ``lis.sample.SampleCollected``."""
    return f"{NAMESPACE}.{domain_of(event_cls)}.{event_cls.__name__}"


def schema_file_of(event_cls: type[Event]) -> Path:
    """Path relative to the schemas directory, e.g. ``sample/SampleCollected.avsc``."""
    return Path(domain_of(event_cls)) / f"{event_cls.__name__}.avsc"


def all_events() -> tuple[type[Event], ...]:
    # Imported late: the event catalogue sits above every domain, and the schemas package must
    # stay importable (for tests with their own classes) even while a domain is broken.
    from domains.events import ALL_EVENTS

    return tuple(ALL_EVENTS)


@cache
def event_classes() -> dict[str, type[Event]]:
    """Record full name -> event class, for every event in the catalogue."""
    return {record_name_of(cls): cls for cls in all_events()}
