"""Imports every table module so ``Base.metadata`` is complete (Alembic, test set-up)."""

from infra.db import aggregates, interop, keys, messaging, notifications
from infra.db.base import Base

__all__ = ["Base", "aggregates", "interop", "keys", "messaging", "notifications"]
