"""`lis projections` on the real stack: after Redis is wiped, a rebuild from the topics gives
back exactly the read models the live worker had built, verify says so (equal checksums) and
names a key that differs; a rebuild ``--until`` a moment equals the live model captured then."""

from __future__ import annotations

import os
import subprocess
import time
from datetime import UTC, datetime
from typing import Any

import pytest
import redis

from domains.catalog.model import load_catalog
from infra.bootstrap import bootstrap
from infra.cli.projections import as_of_prefix
from infra.config.settings import Settings
from infra.redis.store import redis_client
from infra.redis.views import clear, dump
from infra.simulation.day import run_day
from tests.integration.lab import LAB_PROCESSORS, lab_running, own_namespace
from tests.integration.stack.test_stack_cli import lis_executable

pytestmark = pytest.mark.integration
ORG = "org-projections"


def _lis(settings: Settings, *args: str) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "LIS_TOPIC_NAMESPACE": settings.topic_namespace,
        "LIS_READ_MODEL_PREFIX": settings.read_model_prefix,
        "LIS_REDIS_URL": settings.redis_url,
        "LIS_SCHEMA_REGISTRY_URL": settings.schema_registry_url,
        "LIS_KAFKA_BOOTSTRAP": settings.kafka_bootstrap,
    }
    return subprocess.run(
        [lis_executable(), "projections", *args],
        capture_output=True, text=True, timeout=300, env=env, check=False,
    )  # fmt: skip


def test_wiped_read_models_are_rebuilt_verified_and_seen_as_of_an_earlier_moment(
    stack: Settings, fresh_database_url: str
) -> None:
    with own_namespace(stack, fresh_database_url, "proj") as settings:
        client = redis_client(settings.redis_url)
        try:
            _check(settings, client)
        finally:
            clear(client, settings.read_model_prefix)
            client.close()


def _check(settings: Settings, client: redis.Redis[bytes]) -> None:
    prefix = settings.read_model_prefix
    catalog = load_catalog()
    bus = bootstrap(settings, catalog=catalog)

    def day(patients: int, seed: int) -> None:
        run_day(bus, catalog, organization_id=ORG, patients=patients, seed=seed,
                today=datetime.now(UTC).date())  # fmt: skip

    with lab_running(settings, (*LAB_PROCESSORS, "read-models")) as lab:
        day(3, 5)
        lab.settle()
        earlier: dict[str, Any] = dump(client, prefix)
        moment = datetime.now(UTC)
        time.sleep(0.01)
        day(2, 6)
        lab.settle()
    live = dump(client, prefix)
    assert len(earlier) > 20
    assert len(live) > len(earlier)

    clear(client, prefix)  # Redis wiped
    assert dump(client, prefix) == {}
    rebuilt = _lis(settings, "rebuild")
    assert rebuilt.returncode == 0, rebuilt.stdout + rebuilt.stderr
    assert dump(client, prefix) == live

    verified = _lis(settings, "verify")
    assert verified.returncode == 0, verified.stdout + verified.stderr
    sums = [line.split()[1] for line in verified.stdout.splitlines()[:2]]
    assert len(sums) == 2
    assert sums[0] == sums[1]
    assert len(sums[0]) == 64
    assert dump(client, f"{prefix}verify:") == {}  # the scratch copy is gone

    as_of = _lis(settings, "rebuild", "--until", moment.isoformat())
    assert as_of.returncode == 0, as_of.stdout + as_of.stderr
    then = as_of_prefix(prefix, moment)
    assert dump(client, then) == earlier
    clear(client, then)

    key = next(k for k in live if k.startswith("order:"))
    client.hset(f"{prefix}{key}", "status", "tampered")
    differs = _lis(settings, "verify", "--retries", "0")
    assert differs.returncode == 1
    assert key in differs.stdout

    before = dump(client, prefix)
    bad = _lis(settings, "rebuild", "--until", "yesterday")
    assert bad.returncode == 2
    assert "not an ISO 8601 time" in bad.stderr
    assert dump(client, prefix) == before  # refused before anything was emptied
