"""The Docker path: testcontainers supplies Kafka, the registry, Postgres and Redis.

Used when ``LIS_TEST_STACK=containers`` and a Docker engine answers; without an engine the
tests that ask for it are skipped with the reason. (The machines this project is built on have
no engine, so the default path is the local stack of ``lis stack up``.)
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager

import httpx

from infra.config.settings import Settings
from infra.db.migrate import upgrade

APICURIO_IMAGE = "apicurio/apicurio-registry:3.0.6"


def docker_engine_available() -> bool:
    try:
        import docker

        docker.from_env(timeout=3).ping()
    except Exception:  # no client library, no socket, no engine: all mean "not available"
        return False
    return True


@contextmanager
def containerized_stack() -> Iterator[Settings]:
    from testcontainers.community.kafka import KafkaContainer
    from testcontainers.core.container import DockerContainer
    from testcontainers.postgres import PostgresContainer
    from testcontainers.redis import RedisContainer

    with ExitStack() as stack:
        pg = stack.enter_context(
            PostgresContainer("postgres:15", username="lis", password="lis", dbname="lis")
        )
        redis = stack.enter_context(RedisContainer("redis:7"))
        kafka = stack.enter_context(KafkaContainer("confluentinc/cp-kafka:7.6.0").with_kraft())
        registry = stack.enter_context(DockerContainer(APICURIO_IMAGE).with_exposed_ports(8080))
        registry_url = (
            f"http://{registry.get_container_host_ip()}:{registry.get_exposed_port(8080)}"
            "/apis/ccompat/v7"
        )
        _wait_http(f"{registry_url}/subjects")
        settings = Settings(
            database_url=pg.get_connection_url(driver="psycopg"),
            kafka_bootstrap=kafka.get_bootstrap_server(),
            schema_registry_url=registry_url,
            redis_url=(f"redis://{redis.get_container_host_ip()}:{redis.get_exposed_port(6379)}/0"),
        )
        upgrade(settings.database_url)
        yield settings


def _wait_http(url: str, timeout_s: float = 120) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            if httpx.get(url, timeout=3).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(1)
    raise TimeoutError(f"{url} did not answer in {timeout_s:.0f}s")
