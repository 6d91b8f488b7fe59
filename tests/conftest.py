"""Shared test set-up."""

from __future__ import annotations

import pytest


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Disruptive tests (they kill a service and bring it back) run after all the others."""
    items.sort(key=lambda item: item.get_closest_marker("disruptive") is not None)
