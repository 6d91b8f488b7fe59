"""Identifiers: random UUIDs for aggregates and events, deterministic ones for derived commands."""

from __future__ import annotations

import uuid

_NAMESPACE = uuid.UUID("5a1b7c7e-3f0e-4c59-9a57-2d1f0f6c1a10")


def new_id() -> str:
    return str(uuid.uuid4())


def derived_id(*parts: str) -> str:
    """A stable id from its parts: a processor reacting twice to one event issues one command."""
    return str(uuid.uuid5(_NAMESPACE, "/".join(parts)))
