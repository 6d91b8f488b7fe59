"""Schema fingerprints: which exact writer schema an outbox row's Avro bytes were written with.

The fingerprint is the SHA-256 (hex) of the Avro Parsing Canonical Form. That form keeps what
decides the binary encoding (names, types, field order) and drops docs, defaults and aliases, so
two schemas with one fingerprint read the same bytes identically: framing a row with any
registered version of that fingerprint is correct. It is also independent of how the text is
spelled (a registry handing back ``name`` + ``namespace`` instead of a full name, whitespace).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from functools import lru_cache
from typing import Any

from fastavro.schema import to_parsing_canonical_form

from schemas import avro_codec
from schemas.avro_codec import AvroCodec

# Rows written before 0004 (or by code that cannot tell): frame with the relay's current schema.
UNKNOWN = ""


class UnknownWriterSchemaError(Exception):
    """No registered schema matches a row's fingerprint: framing it with any id would be a lie,
    so the relay stops (it never guesses) until the writer's schema is registered."""


def fingerprint(schema: Any) -> str:
    """SHA-256 hex of the Parsing Canonical Form of a schema (dict, parsed schema or JSON text)."""
    if isinstance(schema, str):
        schema = json.loads(schema)
    canonical = to_parsing_canonical_form(schema)
    return hashlib.sha256(canonical.encode()).hexdigest()


@lru_cache(maxsize=4096)
def codec_fingerprint(codec: AvroCodec, schema_name: str) -> str:
    """The fingerprint of the schema ``codec`` encodes ``schema_name`` with (computed once)."""
    return fingerprint(codec.parsed_schema(schema_name))


def writer_fingerprint(encode: Callable[..., Any], schema_name: str) -> str:
    """The fingerprint of the schema an encoder wrote ``schema_name`` with.

    The unit of work gets its encoder injected: the production one (``avro_codec.encode``, the
    default codec) or a codec's bound ``encode``. Anything else (test fakes writing JSON) has no
    Avro schema to name: ``UNKNOWN``, which the relay frames with its current schema.
    """
    codec = avro_codec.default_codec() if encode is avro_codec.encode else None
    if codec is None:
        codec = getattr(encode, "__self__", None)
    if not isinstance(codec, AvroCodec):
        return UNKNOWN
    return codec_fingerprint(codec, schema_name)
