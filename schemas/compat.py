"""Offline FULL compatibility between two Avro schemas, with reasons a person can act on.

FULL = both directions: consumers on the new schema read data written with the old one
(backward), and consumers still on the old schema read data written with the new one (forward).
FULL_TRANSITIVE is FULL against every earlier version, which the caller gets by running this
against each of them. The rules themselves are Apache Avro's own checker (``avro.compatibility``,
the port of the Java ``SchemaCompatibility``), so we do not maintain a second copy of them.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from avro.compatibility import ReaderWriterCompatibilityChecker, SchemaCompatibilityType
from avro.errors import AvroException
from avro.schema import parse

BACKWARD = "new schema cannot read data written with the earlier one"
FORWARD = "earlier schema cannot read data written with the new one"


@dataclass(frozen=True)
class Incompatibility:
    direction: str  # BACKWARD or FORWARD
    field: str  # dotted path, e.g. "tests.loinc_code"; "" when the record itself differs
    reason: str

    def __str__(self) -> str:
        where = f"field '{self.field}'" if self.field else "record"
        return f"{where}: {self.reason} ({self.direction})"


def full_incompatibilities(new: dict[str, Any], old: dict[str, Any]) -> list[Incompatibility]:
    """Everything that makes ``new`` not FULL-compatible with ``old``; empty when compatible."""
    try:
        new_schema, old_schema = parse(json.dumps(new)), parse(json.dumps(old))
    except AvroException as exc:
        return [Incompatibility(BACKWARD, "", f"not a valid Avro schema: {exc}")]
    problems = []
    for direction, reader, writer, reader_json, writer_json in (
        (BACKWARD, new_schema, old_schema, new, old),
        (FORWARD, old_schema, new_schema, old, new),
    ):
        checker = ReaderWriterCompatibilityChecker()  # type: ignore[no-untyped-call]
        result = checker.get_compatibility(reader, writer)
        if result.compatibility is SchemaCompatibilityType.compatible:
            continue
        kinds = ", ".join(sorted({i.value for i in result.incompatibilities}))
        detail = "; ".join(sorted(result.messages))
        fields = sorted({f for loc in result.locations if (f := _field_at(reader_json, loc))})
        # The checker loses the location for some union mismatches; then say which fields
        # changed between the two versions, so the reader still learns where to look.
        fields = fields or _changed_fields(reader_json, writer_json) or [""]
        problems += [Incompatibility(direction, f, f"{kinds}: {detail}") for f in fields]
    return problems


def _field_at(schema: Any, location: str) -> str:
    """Dotted field path for a checker location like ``/fields/1/type/fields/0``."""
    names: list[str] = []
    node = schema
    tokens = [t for t in location.split("/") if t]
    for i, token in enumerate(tokens):
        if isinstance(node, dict) and token in node:
            node = node[token]
        elif isinstance(node, list) and token.isdigit() and int(token) < len(node):
            node = node[int(token)]
            if i > 0 and tokens[i - 1] == "fields" and isinstance(node, dict):
                names.append(str(node["name"]))
        else:
            break
    return ".".join(names)


def _record_fields(schema: Any) -> dict[str, Any]:
    if isinstance(schema, dict) and schema.get("type") == "record":
        return {f["name"]: f for f in schema["fields"]}
    return {}


def _changed_fields(a: Any, b: Any, prefix: str = "") -> list[str]:
    """Fields added, removed or retyped between two record schemas (recursing into records)."""
    fa, fb = _record_fields(a), _record_fields(b)
    changed = []
    for name in sorted(fa.keys() | fb.keys()):
        path = f"{prefix}{name}"
        if name not in fa or name not in fb:
            changed.append(path)
        elif fa[name]["type"] != fb[name]["type"]:
            nested = _changed_fields(fa[name]["type"], fb[name]["type"], f"{path}.")
            changed += nested or [path]
    return changed
