"""Request bodies derived from the command dataclasses: their fields minus identity, path
parameters and the fields the caller's token fixes (those may be sent only with the caller's
own value, so a client that fills them in is not broken, and one naming someone else is
refused)."""

from __future__ import annotations

import dataclasses
import typing
from functools import cache
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, create_model

from infra.http.command_table import IDENTITY_FIELDS, CommandRoute

# Longer than any field a lab types; the domain checks the real widths and formats.
MAX_TEXT = 4000
ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._:\-]{0,63}$"


class CommandBody(BaseModel):
    model_config = ConfigDict(extra="forbid", str_max_length=MAX_TEXT, frozen=True)

    organization_id: str | None = Field(
        default=None, description="May be omitted; when sent, it must be the token's."
    )
    user_id: str | None = Field(
        default=None, description="May be omitted; when sent, it must be the token's user."
    )


def _bound_fields(route: CommandRoute) -> set[str]:
    # A binder's keys do not depend on the body: ask it for a placeholder caller of each role.
    if route.bind is None:
        return set()
    from infra.http.auth import ROLES, Principal

    keys: set[str] = set()
    for role in ROLES:
        keys |= set(route.bind(Principal("u", "o", frozenset({role})), {}))
    return keys


@cache
def request_model(route: CommandRoute) -> type[CommandBody]:
    hints = typing.get_type_hints(route.command)
    skip = set(IDENTITY_FIELDS) | set(route.path_params)
    bound = _bound_fields(route)
    fields: dict[str, Any] = {}
    for f in dataclasses.fields(route.command):
        if f.name in skip:
            continue
        kind = hints[f.name]
        if f.name in bound:
            # optional in the body: the token fills it in
            fields[f.name] = (kind | None, Field(default=None, description="The caller."))
        elif f.default is not dataclasses.MISSING:
            fields[f.name] = (kind, f.default)
        elif f.default_factory is not dataclasses.MISSING:
            fields[f.name] = (kind, Field(default_factory=f.default_factory))
        else:
            fields[f.name] = (kind, ...)
    model: type[CommandBody] = create_model(
        f"{route.name}Body", __base__=CommandBody, __doc__=route.command.__doc__, **fields
    )
    return model


def bound_fields(route: CommandRoute) -> set[str]:
    return _bound_fields(route)
