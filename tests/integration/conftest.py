"""Fixtures for tests that talk to the real local stack (Kafka, registry, Postgres, Redis).

The stack comes from the settings (``LIS_*``). When its services do not answer, the session
starts them with ``lis stack up`` — the same command a person runs. With a Docker engine present
one could point the settings at testcontainers instead; here there is none, so this is the path.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import smtplib
import subprocess
import sys
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine, text

from domains.shared.bus import MessageBus
from infra.bootstrap import bootstrap
from infra.config.settings import Settings, get_settings
from infra.db.engine import make_engine
from infra.db.migrate import scratch_database, upgrade
from infra.stack.common import host_port
from producers.topics import ensure_topics
from tests.integration.containers import containerized_stack, docker_engine_available

pytestmark = pytest.mark.integration


def _postgres_answers(settings: Settings) -> bool:
    try:
        engine = create_engine(settings.database_url)
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        engine.dispose()
    except Exception:  # any failure means "bring the stack up"
        return False
    return True


def _stack_answers(settings: Settings) -> bool:
    try:
        import httpx
        import redis
        from confluent_kafka.admin import AdminClient

        AdminClient({"bootstrap.servers": settings.kafka_bootstrap}).list_topics(timeout=5)
        httpx.get(f"{settings.schema_registry_url}/subjects", timeout=5).raise_for_status()
        redis.Redis.from_url(settings.redis_url).ping()
        with smtplib.SMTP(*host_port(settings.smtp_url, 1025), timeout=5) as smtp:
            smtp.noop()
    except Exception:  # any failure means "bring the stack up"
        return False
    return _postgres_answers(settings)


def _stack_up() -> None:
    lis = shutil.which("lis") or str(Path(sys.executable).with_name("lis"))
    subprocess.run([lis, "stack", "up"], check=True, timeout=900)


@pytest.fixture(scope="session")
def stack() -> Iterator[Settings]:
    """The running stack's settings; starts it with `lis stack up` if it does not answer.

    With LIS_TEST_STACK=containers, testcontainers supplies the services instead (skipped with
    the reason when no Docker engine answers)."""
    if os.environ.get("LIS_TEST_STACK") == "containers":
        if not docker_engine_available():
            pytest.skip("LIS_TEST_STACK=containers, but no Docker engine answers")
        with containerized_stack() as settings:
            ensure_topics(settings.kafka_bootstrap, settings.topics())
            yield settings
        return
    settings = get_settings()
    if not _stack_answers(settings):
        _stack_up()
    upgrade(settings.database_url)  # the test database, at this checkout's head
    # The event topics are the application's (auto-creation is off): a fresh broker has none.
    ensure_topics(settings.kafka_bootstrap, settings.topics())
    yield settings


@pytest.fixture(scope="session")
def postgres(request: pytest.FixtureRequest) -> Settings:
    """For tests that need Postgres only: they neither wait for nor start Kafka when it runs."""
    if os.environ.get("LIS_TEST_STACK") == "containers":
        containerized: Settings = request.getfixturevalue("stack")
        return containerized
    settings = get_settings()
    if not _postgres_answers(settings):
        _stack_up()
    upgrade(settings.database_url)  # the test database, at this checkout's head
    return settings


@contextmanager
def fresh_database(settings: Settings) -> Iterator[str]:
    """A new, fully migrated Postgres database, dropped on exit."""
    with scratch_database(settings.database_url, "lis_t") as url:
        yield url


@pytest.fixture
def fresh_database_url(postgres: Settings) -> Iterator[str]:
    """A new, fully migrated Postgres database for one test, dropped afterwards."""
    with fresh_database(postgres) as url:
        yield url


@pytest.fixture
def settings(postgres: Settings, fresh_database_url: str) -> Settings:
    """The stack's settings, pointed at this test's fresh database."""
    return postgres.model_copy(update={"database_url": fresh_database_url})


@pytest.fixture
def engine(settings: Settings) -> Iterator[Engine]:
    """An engine on this test's fresh database."""
    engine = make_engine(settings.database_url)
    yield engine
    engine.dispose()


@pytest.fixture
def bus(settings: Settings, engine: Engine) -> MessageBus:
    """The real message bus on this test's fresh database."""
    return bootstrap(settings, engine=engine)


@pytest.fixture(scope="module")
def module_database_url(postgres: Settings) -> Iterator[str]:
    """The same, shared by the tests of one module (for expensive set-ups done once)."""
    with fresh_database(postgres) as url:
        yield url


@pytest.fixture
def unique_name() -> Iterator[Callable[[str], str]]:
    """Fresh names for topics, subjects and consumer groups, so tests never collide; inside
    the test namespace, like everything else the tests create on the shared stack. Topics made
    under these names (and their dead-letter topics) are deleted afterwards."""
    settings = get_settings()
    made: list[str] = []

    def make(prefix: str) -> str:
        made.append(f"{settings.topic_namespace}.{prefix}.{uuid.uuid4().hex[:10]}")
        return made[-1]

    yield make
    _delete_topics(settings, made)


def _delete_topics(settings: Settings, names: list[str]) -> None:
    """Topics named by (or after) these names; best effort: a leftover costs only space."""
    if not names:
        return
    from confluent_kafka.admin import AdminClient

    admin = AdminClient({"bootstrap.servers": settings.kafka_bootstrap})
    try:
        existing = admin.list_topics(timeout=10).topics
    except Exception:  # the broker is down (a recovery test): nothing to clean now
        return
    doomed = [t for t in existing if any(t == n or t.endswith(f".{n}") for n in names)]
    for name in names:  # a consumer's dead letters, a namespace's topics, named after it
        dashed = name.replace(".", "-")
        doomed += [t for t in existing if t.endswith(dashed) or t.startswith(f"{dashed}.")]
    if doomed:
        for future in admin.delete_topics(sorted(set(doomed)), request_timeout=30).values():
            with contextlib.suppress(Exception):
                future.result()


@pytest.fixture(autouse=True)
def _no_skip_marker() -> None:
    if os.environ.get("LIS_SKIP_INTEGRATION") == "1":
        pytest.skip("LIS_SKIP_INTEGRATION=1")
