"""Generate the committed ``.avsc`` files from the event dataclasses.

The classes are the source of truth; the files are what the registry and outside consumers see.
``lis schemas generate`` rewrites them and a unit test fails when they differ, so the two cannot
drift apart unnoticed. Each event file inlines ``lis.EventMetadata`` because the registry gets
one self-contained schema per subject (no references to resolve).
"""

from __future__ import annotations

import dataclasses
import enum
import json
import types
import typing
from collections.abc import Iterable
from datetime import date, datetime
from pathlib import Path
from typing import Any

from domains.shared.messages import Event, EventMetadata
from schemas.catalog import (
    METADATA_FILE,
    METADATA_RECORD,
    NAMESPACE,
    SCHEMAS_DIR,
    all_events,
    domain_of,
    record_name_of,
    schema_file_of,
)

Schema = dict[str, Any]

METADATA_DOCS = {
    "event_id": "Unique id of this event (UUID); consumers deduplicate on it.",
    "event_type": "Event type as in the contract, e.g. SAMPLE_COLLECTED; also a Kafka header.",
    "aggregate_type": "Kind of aggregate that emitted the event, e.g. Sample.",
    "aggregate_id": "Id of the aggregate; also the Kafka key, so its events stay in order.",
    "aggregate_version": "Aggregate version after this event (1, 2, 3...); read models "
    "ignore anything older than what they hold.",
    "organization_id": "Tenant: the laboratory organization the aggregate belongs to.",
    "user_id": "Who issued the command behind this event; null when a processor did.",
    "occurred_at": "When the event happened, UTC.",
    "correlation_id": "One id for a whole business flow (the request's X-Correlation-ID, or new).",
    "causation_id": "Id of the command or event that directly caused this one.",
}

_PRIMITIVES: dict[type, Any] = {
    bool: "boolean",
    int: "long",
    float: "double",
    str: "string",
    datetime: {"type": "long", "logicalType": "timestamp-micros"},
    date: {"type": "int", "logicalType": "date"},
}


def _class_doc(cls: type) -> str | None:
    """The first paragraph of a docstring the author wrote (not the one dataclass invents)."""
    doc = cls.__doc__
    if not doc or doc.startswith(f"{cls.__name__}("):
        return None
    first = doc.strip().split("\n\n")[0]
    return " ".join(first.replace("``", "").split())


def optional_inner(tp: Any) -> Any | None:
    """``X`` for ``X | None``, else None."""
    if typing.get_origin(tp) in (types.UnionType, typing.Union):
        args = [a for a in typing.get_args(tp) if a is not type(None)]
        if len(args) == 1 and len(typing.get_args(tp)) == 2:
            return args[0]
    return None


def sequence_item(tp: Any) -> Any | None:
    """``X`` for ``list[X]`` or ``tuple[X, ...]``, else None."""
    origin, args = typing.get_origin(tp), typing.get_args(tp)
    if origin is list and len(args) == 1:
        return args[0]
    if origin is tuple and len(args) == 2 and args[1] is Ellipsis:
        return args[0]
    return None


class _FileBuilder:
    """Builds one self-contained file; a named record is defined once, then referenced by name."""

    def __init__(self, namespace: str) -> None:
        self.namespace = namespace
        self.defined: dict[str, type] = {}

    def record(
        self, cls: type, name: str, docs: dict[str, str] | None = None, doc: str | None = None
    ) -> Schema | str:
        if name in self.defined:
            if self.defined[name] is not cls:
                raise TypeError(f"two different classes map to the Avro name {name}")
            return name
        self.defined[name] = cls
        hints = typing.get_type_hints(cls)
        schema: Schema = {"type": "record", "name": name}
        if doc := _class_doc(cls) or doc:
            schema["doc"] = doc
        schema["fields"] = [
            self.field(cls, f, hints[f.name], (docs or {}).get(f.name))
            for f in dataclasses.fields(cls)
        ]
        return schema

    def field(self, cls: type, f: dataclasses.Field[Any], tp: Any, doc: str | None) -> Schema:
        out: Schema = {"name": f.name, "type": self.type_of(tp, where=f"{cls.__name__}.{f.name}")}
        if doc := f.metadata.get("doc", doc):
            out["doc"] = doc
        if (default := _avro_default(f, tp)) is not dataclasses.MISSING:
            out["default"] = default
        return out

    def type_of(self, tp: Any, where: str) -> Any:
        if (inner := optional_inner(tp)) is not None:
            return ["null", self.type_of(inner, where)]
        if (item := sequence_item(tp)) is not None:
            return {"type": "array", "items": self.type_of(item, where)}
        if isinstance(tp, type) and issubclass(tp, enum.Enum):
            if not all(isinstance(m.value, str) for m in tp):
                raise TypeError(f"{where}: only str-valued enums map to Avro (as string)")
            # A string, not an Avro enum: adding a symbol to an Avro enum breaks old readers.
            return "string"
        if tp in _PRIMITIVES:
            return _PRIMITIVES[tp]
        if isinstance(tp, type) and dataclasses.is_dataclass(tp):
            return self.record(tp, f"{self.namespace}.{tp.__name__}")
        raise TypeError(f"{where}: no Avro mapping for {tp!r}")


def _avro_default(f: dataclasses.Field[Any], tp: Any) -> Any:
    """The Avro default for a field, or MISSING when it has none Avro can express."""
    if optional_inner(tp) is not None:
        # Union defaults must match the first branch, hence ["null", X] and null; this also
        # keeps every optional field addable later without breaking compatibility.
        return None
    if isinstance(f.default, enum.Enum):
        return f.default.value
    if isinstance(f.default, bool | int | float | str):
        return f.default
    if isinstance(f.default, tuple) and all(isinstance(v, str | int | float) for v in f.default):
        return list(f.default)
    if f.default_factory in (list, tuple):
        return []
    return dataclasses.MISSING


def metadata_schema(builder: _FileBuilder | None = None) -> Schema:
    missing = {f.name for f in dataclasses.fields(EventMetadata)} - METADATA_DOCS.keys()
    if missing:
        raise TypeError(f"EventMetadata fields without a doc in METADATA_DOCS: {sorted(missing)}")
    schema = (builder or _FileBuilder(NAMESPACE)).record(
        EventMetadata, METADATA_RECORD, METADATA_DOCS
    )
    assert isinstance(schema, dict)  # first use in a fresh builder is always a definition
    return schema


def event_schema(event_cls: type[Event]) -> Schema:
    """``lis.<domain>.<Name>``: the metadata record first, then the payload fields."""
    builder = _FileBuilder(f"{NAMESPACE}.{domain_of(event_cls)}")
    metadata_field: Schema = {"name": "metadata", "type": metadata_schema(builder)}
    # Without a docstring the record still says which contract event it is, for registry users.
    fallback = f"{event_cls.event_type} event of the {event_cls.aggregate_type} aggregate."
    payload = builder.record(event_cls, record_name_of(event_cls), doc=fallback)
    assert isinstance(payload, dict)
    payload["fields"] = [metadata_field, *payload["fields"]]
    return payload


def render(schema: Schema) -> str:
    # Key order is fixed by construction (type, name, doc, fields / name, type, doc, default),
    # which reads better than sort_keys and is just as stable.
    return json.dumps(schema, indent=2, ensure_ascii=False) + "\n"


def expected_files(events: Iterable[type[Event]] | None = None) -> dict[Path, str]:
    """Relative path -> file content, for every event plus EventMetadata.avsc."""
    files = {Path(METADATA_FILE): render(metadata_schema())}
    for cls in all_events() if events is None else events:
        path = schema_file_of(cls)
        if path in files:
            raise TypeError(f"two event classes map to {path}")
        files[path] = render(event_schema(cls))
    return dict(sorted(files.items()))


def outdated_files(
    root: Path = SCHEMAS_DIR, events: Iterable[type[Event]] | None = None
) -> dict[Path, str]:
    """Relative path -> expected content, for files missing or different on disk."""
    return {
        rel: text
        for rel, text in expected_files(events).items()
        if not (root / rel).exists() or (root / rel).read_text(encoding="utf-8") != text
    }


def write(root: Path = SCHEMAS_DIR, events: Iterable[type[Event]] | None = None) -> list[Path]:
    """Write every file whose content changed; returns the changed paths (relative)."""
    changed = outdated_files(root, events)
    for rel, text in changed.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text, encoding="utf-8")
    return list(changed)


def stale_files(
    root: Path = SCHEMAS_DIR, events: Iterable[type[Event]] | None = None
) -> list[Path]:
    """Committed .avsc files no event class produces any more (renamed or removed events)."""
    expected = set(expected_files(events))
    present = (p.relative_to(root) for p in root.rglob("*.avsc"))
    return sorted(p for p in present if p not in expected)
