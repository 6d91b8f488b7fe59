"""Shared test set-up.

The test run has a house of its own on the shared stack: its own topic namespace (topics,
subjects, consumer groups, dead letters: ``lis-test.*``), its own database (``lis_test``;
most tests make a fresh one per test or module besides) and its own Redis database (1). So
``make test`` never writes into the topics and tables that ``make demo`` and a developer's own
work use, however often it runs.
Set here, before any test module reads the settings; ``LIS_TEST_NAMESPACE``,
``LIS_TEST_DATABASE`` and ``LIS_TEST_REDIS_DB`` pick others (two checkouts testing on one stack
at once).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from urllib.parse import urlsplit, urlunsplit

import pytest
from sqlalchemy.engine import make_url

from infra.config.settings import Settings
from tests.interop.hapi import HapiValidator, tools_missing
from tests.interop.hapi import build as build_validator

TEST_NAMESPACE = os.environ.get("LIS_TEST_NAMESPACE", "lis-test")
TEST_DATABASE = os.environ.get("LIS_TEST_DATABASE", "lis_test")
TEST_REDIS_DB = os.environ.get("LIS_TEST_REDIS_DB", "1")


def _isolate_the_test_run() -> None:
    base = Settings()  # whatever the environment points at, then our own corner of it
    os.environ["LIS_TOPIC_NAMESPACE"] = TEST_NAMESPACE
    test_db = make_url(base.database_url).set(database=TEST_DATABASE)
    os.environ["LIS_DATABASE_URL"] = test_db.render_as_string(hide_password=False)
    redis = urlsplit(base.redis_url)
    os.environ["LIS_REDIS_URL"] = urlunsplit(redis._replace(path=f"/{TEST_REDIS_DB}"))


_isolate_the_test_run()


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Disruptive tests (they kill a service and bring it back) run after all the others."""
    items.sort(key=lambda item: item.get_closest_marker("disruptive") is not None)


@pytest.fixture(scope="session")
def hapi() -> Iterator[HapiValidator]:
    """The HAPI FHIR and HAPI HL7v2 validators, one JVM for the session (interop/validator)."""
    reason = tools_missing()
    if reason:
        pytest.skip(f"the HAPI validators need Java and Maven: {reason}")
    build_validator()
    validator = HapiValidator()
    yield validator
    validator.close()
