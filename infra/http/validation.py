"""Checks the request models cannot express: ids in headers, and NUL characters anywhere
(Postgres text and JSONB refuse them; refused here as bad input, not at commit as a 500)."""

from __future__ import annotations

import dataclasses
from typing import Any

from domains.shared.errors import InvalidInput
from domains.shared.messages import MAX_ID_LENGTH
from infra.http.problems import ApiProblem


def check_id_header(name: str, value: str) -> None:
    if (
        not value
        or len(value) > MAX_ID_LENGTH
        or not value.isprintable()
        or any(c.isspace() for c in value)
    ):
        raise ApiProblem(
            400,
            "Bad header",
            f"{name} must be 1-{MAX_ID_LENGTH} printable characters without whitespace",
            field=name,
        )


def check_no_nul(fields: dict[str, Any]) -> None:
    for name, value in fields.items():
        if _has_nul(value):
            raise InvalidInput(name, "must not contain NUL characters")


def _has_nul(value: Any) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, list | tuple):
        return any(_has_nul(v) for v in value)
    if isinstance(value, dict):
        return any(_has_nul(k) or _has_nul(v) for k, v in value.items())
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return any(_has_nul(getattr(value, f.name)) for f in dataclasses.fields(value))
    return False
