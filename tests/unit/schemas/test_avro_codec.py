"""Avro codec: every event type survives encode/decode; framing and errors are the project's own."""

from __future__ import annotations

import dataclasses
import enum
import io
import json
import struct
import typing
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any, ClassVar

import fastavro
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from domains.events import ALL_EVENTS
from domains.shared.messages import Event, EventEnvelope, EventMetadata
from schemas.avro_codec import (
    AvroCodec,
    SerializationError,
    decode,
    encode,
    envelope_of,
    frame,
    record_of,
    unframe,
)
from schemas.catalog import SCHEMAS_DIR, record_name_of, schema_file_of
from schemas.generate import event_schema, optional_inner, sequence_item

# --- a value factory driven by the field types, so new events are covered without test edits ---

_LEAF: dict[Any, st.SearchStrategy[Any]] = {
    str: st.text(max_size=20),
    int: st.integers(min_value=-(2**63), max_value=2**63 - 1),
    float: st.floats(allow_nan=False),  # NaN != NaN would fail equality, not the codec
    bool: st.booleans(),
    date: st.dates(),
    datetime: st.datetimes(
        min_value=datetime(1900, 1, 1), max_value=datetime(2200, 1, 1), timezones=st.just(UTC)
    ),
}


def strategy_for(tp: Any) -> st.SearchStrategy[Any]:
    if (inner := optional_inner(tp)) is not None:
        return st.none() | strategy_for(inner)
    if (item := sequence_item(tp)) is not None:
        items = st.lists(strategy_for(item), max_size=3)
        return items.map(tuple) if typing.get_origin(tp) is tuple else items
    if isinstance(tp, type) and issubclass(tp, enum.Enum):
        return st.sampled_from(list(tp))
    if isinstance(tp, type) and dataclasses.is_dataclass(tp):
        hints = typing.get_type_hints(tp)
        kwargs = {f.name: strategy_for(hints[f.name]) for f in dataclasses.fields(tp) if f.init}
        return st.builds(tp, **kwargs)
    return _LEAF[tp]


def envelopes_of(event_cls: type[Event]) -> st.SearchStrategy[EventEnvelope]:
    metadata = strategy_for(EventMetadata).map(
        lambda m: dataclasses.replace(
            m, event_type=event_cls.event_type, aggregate_type=event_cls.aggregate_type
        )
    )
    return st.builds(EventEnvelope, metadata=metadata, event=strategy_for(event_cls))


# --- every real event type -----------------------------------------------------------------------


@pytest.mark.parametrize("event_cls", ALL_EVENTS, ids=lambda c: c.__name__)
@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_every_event_type_round_trips_through_avro(
    event_cls: type[Event], data: st.DataObject
) -> None:
    envelope = data.draw(envelopes_of(event_cls))

    name, body = encode(envelope)

    assert name == record_name_of(event_cls)
    assert decode(name, body) == envelope


@pytest.mark.parametrize("event_cls", ALL_EVENTS, ids=lambda c: c.__name__)
@settings(max_examples=5, deadline=None)
@given(data=st.data())
def test_record_puts_metadata_first_and_round_trips_as_dict(
    event_cls: type[Event], data: st.DataObject
) -> None:
    envelope = data.draw(envelopes_of(event_cls))

    record = record_of(envelope)

    assert next(iter(record)) == "metadata"
    assert record["metadata"]["event_type"] == event_cls.event_type
    assert envelope_of(record_name_of(event_cls), record) == envelope


@pytest.mark.parametrize("event_cls", ALL_EVENTS, ids=lambda c: c.__name__)
@settings(max_examples=5, deadline=None)
@given(data=st.data())
def test_plain_fastavro_reads_the_bytes_with_only_the_committed_schema_file(
    event_cls: type[Event], data: st.DataObject
) -> None:
    envelope = data.draw(envelopes_of(event_cls))
    _, body = encode(envelope)
    text = (SCHEMAS_DIR / schema_file_of(event_cls)).read_text(encoding="utf-8")
    schema = fastavro.parse_schema(json.loads(text), named_schemas={})

    record = fastavro.schemaless_reader(io.BytesIO(body), schema, None)

    assert isinstance(record, dict)
    assert record["metadata"]["event_id"] == envelope.metadata.event_id


# --- shapes the real events may grow into: nested records, lists of records, enums, evolution --


class Priority(enum.StrEnum):
    ROUTINE = "routine"
    STAT = "stat"


@dataclass(frozen=True, kw_only=True)
class Tube:
    barcode: str
    drawn_on: date
    volume_ml: float | None = None


@dataclass(frozen=True, kw_only=True)
class ThingHappened(Event):
    event_type: ClassVar[str] = "THING_HAPPENED"
    aggregate_type: ClassVar[str] = "Thing"

    thing_id: str
    count: int
    priority: Priority
    tubes: list[Tube]
    first: Tube | None = None
    codes: tuple[str, ...] = ()
    note: str = "none"


def _thing_happened_v2() -> type[Event]:
    """The same record one version later (same name, so a function scope): a field added."""

    @dataclass(frozen=True, kw_only=True)
    class ThingHappened(Event):
        event_type: ClassVar[str] = "THING_HAPPENED"
        aggregate_type: ClassVar[str] = "Thing"

        thing_id: str
        count: int
        priority: Priority
        tubes: list[Tube]
        first: Tube | None = None
        codes: tuple[str, ...] = ()
        note: str = "none"
        site: str | None = None

    return ThingHappened


THING_CODEC = AvroCodec([ThingHappened], schema_for=event_schema)


def _thing_metadata() -> EventMetadata:
    return EventMetadata(
        event_id="e-1",
        event_type="THING_HAPPENED",
        aggregate_type="Thing",
        aggregate_id="t-1",
        aggregate_version=3,
        organization_id="org-1",
        user_id=None,
        occurred_at=datetime(2024, 5, 1, 8, 30, 0, 123456, tzinfo=UTC),
        correlation_id="c-1",
        causation_id="cmd-1",
    )


def _thing(**overrides: Any) -> EventEnvelope:
    event = ThingHappened(
        thing_id="t-1",
        count=2,
        priority=Priority.STAT,
        tubes=[Tube(barcode="A1", drawn_on=date(2024, 5, 1), volume_ml=4.5)],
        first=Tube(barcode="A0", drawn_on=date(2024, 4, 30)),
        codes=("x", "y"),
        **overrides,
    )
    return EventEnvelope(metadata=_thing_metadata(), event=event)


@given(envelope=envelopes_of(ThingHappened))
@settings(max_examples=50, deadline=None)
def test_nested_records_lists_tuples_and_enums_round_trip(envelope: EventEnvelope) -> None:
    name, body = THING_CODEC.encode(envelope)

    assert THING_CODEC.decode(name, body) == envelope


def test_a_reader_one_version_ahead_decodes_old_bytes_with_the_writer_schema() -> None:
    name, body = THING_CODEC.encode(_thing())
    writer = fastavro.parse_schema(event_schema(ThingHappened), named_schemas={})
    v2 = _thing_happened_v2()
    newer = AvroCodec([v2], schema_for=event_schema)

    decoded = newer.decode(name, body, writer_schema=writer)

    assert type(decoded.event) is v2
    assert decoded.event.payload() == {**_thing().event.payload(), "site": None}


def test_a_value_of_the_wrong_type_is_a_serialization_error_naming_the_field() -> None:
    envelope = _thing(note=42)

    with pytest.raises(SerializationError, match="note") as caught:
        THING_CODEC.encode(envelope)

    assert caught.value.__cause__ is not None


def test_metadata_for_another_event_type_is_refused() -> None:
    envelope = dataclasses.replace(
        _thing(), metadata=dataclasses.replace(_thing_metadata(), event_type="OTHER")
    )

    with pytest.raises(SerializationError, match="OTHER"):
        THING_CODEC.encode(envelope)


def test_truncated_bytes_are_a_serialization_error() -> None:
    name, body = THING_CODEC.encode(_thing())

    with pytest.raises(SerializationError) as caught:
        THING_CODEC.decode(name, body[: len(body) // 2])

    assert caught.value.__cause__ is not None


def test_trailing_bytes_are_a_serialization_error() -> None:
    name, body = THING_CODEC.encode(_thing())

    with pytest.raises(SerializationError, match="left over"):
        THING_CODEC.decode(name, body + b"\x00")


def test_an_unknown_record_name_is_a_serialization_error() -> None:
    with pytest.raises(SerializationError, match=r"lis\.nope\.Nothing"):
        THING_CODEC.decode("lis.nope.Nothing", b"")


# --- Confluent framing ---------------------------------------------------------------------------


def test_frame_prepends_magic_byte_and_big_endian_schema_id() -> None:
    framed = frame(258, b"body")

    assert framed == b"\x00\x00\x00\x01\x02body"
    assert unframe(framed) == (258, b"body")


def test_a_wrong_magic_byte_is_refused() -> None:
    with pytest.raises(SerializationError, match="magic byte 1"):
        unframe(b"\x01\x00\x00\x00\x01body")


def test_a_message_shorter_than_the_header_is_refused() -> None:
    with pytest.raises(SerializationError, match="too short") as caught:
        unframe(b"\x00\x00\x01")

    assert isinstance(caught.value.__cause__, struct.error)


def test_a_schema_id_beyond_four_bytes_is_refused() -> None:
    with pytest.raises(SerializationError):
        frame(2**32, b"")


def test_default_tuple_field_is_written_as_an_empty_array() -> None:
    schema = event_schema(ThingHappened)
    codes = next(f for f in schema["fields"] if f["name"] == "codes")

    assert codes == {"name": "codes", "type": {"type": "array", "items": "string"}, "default": []}
