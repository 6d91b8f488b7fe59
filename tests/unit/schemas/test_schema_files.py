"""The committed .avsc files: generated from the classes, complete, and FULL_TRANSITIVE over git."""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any, ClassVar

import pytest

from domains.events import ALL_EVENTS
from domains.shared.messages import Event
from infra.cli.schemas import history_problems
from infra.config.settings import REPO_ROOT
from producers.topics import Topics
from schemas.catalog import SCHEMAS_DIR, record_name_of, schema_file_of
from schemas.compat import BACKWARD, FORWARD, full_incompatibilities
from schemas.generate import event_schema, expected_files, metadata_schema, stale_files
from schemas.history import earlier_versions

# The contract table of DESIGN.md, copied on purpose: changing it should take a deliberate edit
# here too, since downstream teams depend on these names.
CONTRACT = {
    "lis.patient.events": ["PATIENT_CREATED", "PATIENT_UPDATED", "PATIENT_DELETED"],
    "lis.order.events": ["ORDER_CREATED", "ORDER_CONFIRMED", "ORDER_CANCELLED", "ORDER_COMPLETED"],
    "lis.sample.events": [
        "SAMPLE_COLLECTED",
        "SAMPLE_RECEIVED",
        "SAMPLE_REJECTED",
        "SAMPLE_ROUTED",
    ],
    "lis.result.events": [
        "RESULT_ENTERED",
        "RESULT_VERIFIED",
        "RESULT_AMENDED",
        "CRITICAL_VALUE_DETECTED",
        "CRITICAL_VALUE_ACKNOWLEDGED",
        "CRITICAL_VALUE_ESCALATED",
    ],
    "lis.report.events": ["REPORT_GENERATED", "REPORT_SIGNED", "REPORT_DELIVERED"],
    "lis.payment.events": ["PAYMENT_RECEIVED", "PAYMENT_FAILED"],
    "lis.notification.events": ["NOTIFICATION_SENT", "NOTIFICATION_FAILED"],
}


def _load(path: Path) -> dict[str, Any]:
    schema: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return schema


# --- the committed files ---------------------------------------------------------------------


def test_committed_schema_files_equal_what_the_generator_produces() -> None:
    for rel, text in expected_files().items():
        path = SCHEMAS_DIR / rel
        assert path.exists(), f"schemas/{rel} missing: run `lis schemas generate`"
        assert path.read_text(encoding="utf-8") == text, (
            f"schemas/{rel} differs from its event class: run `lis schemas generate`"
        )


def test_no_schema_file_is_left_without_an_event_class() -> None:
    assert stale_files() == []


@pytest.mark.parametrize("topic", sorted(CONTRACT))
def test_every_contract_event_type_has_a_schema_file_on_its_topic(topic: str) -> None:
    by_type = {cls.event_type: cls for cls in ALL_EVENTS}
    for event_type in CONTRACT[topic]:
        assert event_type in by_type, f"no event class for {event_type}"
        cls = by_type[event_type]
        assert Topics().for_event(cls) == topic
        schema = _load(SCHEMAS_DIR / schema_file_of(cls))
        assert schema["name"] == record_name_of(cls)


def test_every_topic_in_the_code_is_in_the_contract() -> None:
    assert set(Topics().events) == set(CONTRACT)


@pytest.mark.parametrize("event_cls", ALL_EVENTS, ids=lambda c: c.__name__)
def test_each_file_is_self_contained_with_the_metadata_record_first(
    event_cls: type[Event],
) -> None:
    schema = _load(SCHEMAS_DIR / schema_file_of(event_cls))

    first = schema["fields"][0]
    assert first["name"] == "metadata"
    assert first["type"] == _load(SCHEMAS_DIR / "EventMetadata.avsc")
    assert schema["name"] == f"lis.{event_cls.aggregate_type.lower()}.{event_cls.__name__}"


def test_event_metadata_follows_the_contract() -> None:
    schema = metadata_schema()
    fields = {f["name"]: f for f in schema["fields"]}

    assert schema["name"] == "lis.EventMetadata"
    assert list(fields) == [
        "event_id",
        "event_type",
        "aggregate_type",
        "aggregate_id",
        "aggregate_version",
        "organization_id",
        "user_id",
        "occurred_at",
        "correlation_id",
        "causation_id",
    ]
    assert fields["aggregate_version"]["type"] == "long"
    assert fields["user_id"]["type"] == ["null", "string"]
    assert fields["user_id"]["default"] is None
    assert fields["occurred_at"]["type"] == {"type": "long", "logicalType": "timestamp-micros"}
    assert all(f.get("doc") for f in fields.values())


def test_committed_schemas_are_full_transitive_over_their_git_history() -> None:
    assert history_problems(SCHEMAS_DIR, REPO_ROOT) == []


# --- type mapping ---------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class Reading:
    loinc_code: str
    value: float


@dataclass(frozen=True, kw_only=True)
class Mapped(Event):
    """Every field type the events may use."""

    event_type: ClassVar[str] = "MAPPED"
    aggregate_type: ClassVar[str] = "Probe"

    text: str = field(metadata={"doc": "free text"})
    count: int
    ratio: float
    flag: bool
    at: datetime
    on: date
    tags: list[str]
    readings: list[Reading]
    main: Reading
    maybe: str | None = None
    priority: str = "routine"


def _fields(schema: dict[str, Any]) -> dict[str, Any]:
    return {f["name"]: f for f in schema["fields"]}


def test_python_types_map_to_the_agreed_avro_types() -> None:
    schema = event_schema(Mapped)
    fields = _fields(schema)

    assert schema["name"] == "lis.probe.Mapped"
    assert schema["doc"] == "Every field type the events may use."
    assert fields["text"] == {"name": "text", "type": "string", "doc": "free text"}
    assert fields["count"]["type"] == "long"
    assert fields["ratio"]["type"] == "double"
    assert fields["flag"]["type"] == "boolean"
    assert fields["at"]["type"] == {"type": "long", "logicalType": "timestamp-micros"}
    assert fields["on"]["type"] == {"type": "int", "logicalType": "date"}
    assert fields["tags"]["type"] == {"type": "array", "items": "string"}
    assert fields["maybe"] == {"name": "maybe", "type": ["null", "string"], "default": None}
    assert fields["priority"]["default"] == "routine"


def test_a_nested_record_is_defined_once_then_referenced_by_name() -> None:
    fields = _fields(event_schema(Mapped))

    assert fields["readings"]["type"]["items"]["name"] == "lis.probe.Reading"
    assert fields["main"]["type"] == "lis.probe.Reading"


def test_a_type_without_an_avro_mapping_fails_naming_the_field() -> None:
    @dataclass(frozen=True, kw_only=True)
    class Priced(Event):
        event_type: ClassVar[str] = "PRICED"
        aggregate_type: ClassVar[str] = "Probe"
        amount: Decimal

    with pytest.raises(TypeError, match=r"Priced\.amount"):
        event_schema(Priced)


# --- offline FULL compatibility --------------------------------------------------------------


BASE: dict[str, Any] = {
    "type": "record",
    "name": "lis.probe.Thing",
    "fields": [
        {"name": "thing_id", "type": "string"},
        {"name": "count", "type": "long"},
        {
            "name": "tube",
            "type": {
                "type": "record",
                "name": "lis.probe.Tube",
                "fields": [{"name": "barcode", "type": "string"}],
            },
        },
        {"name": "note", "type": ["null", "string"], "default": None},
    ],
}


def _changed(change: Any) -> dict[str, Any]:
    schema = copy.deepcopy(BASE)
    change(schema)
    return schema


def test_adding_an_optional_field_with_a_default_is_compatible() -> None:
    new = _changed(
        lambda s: s["fields"].append({"name": "site", "type": ["null", "string"], "default": None})
    )

    assert full_incompatibilities(new, BASE) == []


def test_removing_a_field_that_has_a_default_is_compatible() -> None:
    new = _changed(lambda s: s["fields"].pop(3))

    assert full_incompatibilities(new, BASE) == []


def test_adding_a_required_field_is_incompatible_and_names_the_field() -> None:
    new = _changed(lambda s: s["fields"].append({"name": "site", "type": "string"}))

    problems = full_incompatibilities(new, BASE)

    assert [(p.direction, p.field) for p in problems] == [(BACKWARD, "site")]
    assert "reader_field_missing_default_value" in str(problems[0])


def test_removing_a_field_without_a_default_is_incompatible() -> None:
    new = _changed(lambda s: s["fields"].pop(1))

    problems = full_incompatibilities(new, BASE)

    assert [(p.direction, p.field) for p in problems] == [(FORWARD, "count")]


def test_changing_a_type_is_incompatible() -> None:
    def retype(schema: dict[str, Any]) -> None:
        schema["fields"][0]["type"] = "long"

    problems = full_incompatibilities(_changed(retype), BASE)

    assert {p.direction for p in problems} == {BACKWARD, FORWARD}
    assert {p.field for p in problems} == {"thing_id"}


def test_a_change_inside_a_nested_record_names_the_dotted_path() -> None:
    def add_required(schema: dict[str, Any]) -> None:
        schema["fields"][2]["type"]["fields"].append({"name": "volume", "type": "double"})

    problems = full_incompatibilities(_changed(add_required), BASE)

    assert [p.field for p in problems] == ["tube.volume"]


def test_making_a_required_field_optional_breaks_old_readers() -> None:
    def loosen(schema: dict[str, Any]) -> None:
        schema["fields"][1] = {"name": "count", "type": ["null", "long"], "default": None}

    problems = full_incompatibilities(_changed(loosen), BASE)

    # Old readers expect a long and may get null; the field is named even though Avro's
    # checker reports this one at the record level.
    assert [(p.direction, p.field) for p in problems] == [(FORWARD, "count")]


def test_a_file_never_committed_has_no_earlier_versions(tmp_path: Path) -> None:
    assert earlier_versions(tmp_path / "New.avsc", tmp_path) == []


def test_check_fails_naming_the_file_the_earlier_version_and_the_field(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from typer.testing import CliRunner

    from infra.cli import schemas as schemas_cli
    from schemas import history

    target = SCHEMAS_DIR / schema_file_of(ALL_EVENTS[0])
    # An earlier version that had a required field the current file no longer has.
    earlier = _load(target)
    earlier["fields"].append({"name": "legacy_code", "type": "string"})

    def fake_history(path: Path, repo: Path) -> list[history.Version]:
        if path != target:
            return []
        return [history.Version("abc123", "abc123 2024-05-01 first cut", earlier)]

    monkeypatch.setattr(history, "earlier_versions", fake_history)

    result = CliRunner().invoke(schemas_cli.app, ["check", "--offline"])

    assert result.exit_code == 1
    assert f"schemas/{schema_file_of(ALL_EVENTS[0])}" in result.output
    assert "abc123 2024-05-01 first cut" in result.output
    assert "field 'legacy_code'" in result.output


def test_subjects_follow_the_stock_topic_record_name_strategy() -> None:
    from confluent_kafka.schema_registry import topic_record_subject_name_strategy
    from confluent_kafka.serialization import MessageField, SerializationContext

    from schemas.registry import subject_for

    for cls in ALL_EVENTS:
        topic = Topics().for_event(cls)
        context = SerializationContext(topic, MessageField.VALUE)
        stock = topic_record_subject_name_strategy(context, record_name_of(cls))
        assert subject_for(topic, record_name_of(cls)) == stock
