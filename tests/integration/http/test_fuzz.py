"""A schema-driven fuzz run: schemathesis reads ``/openapi.json`` of the API served on the
real stack and sends generated requests, valid and invalid, to every operation with a token
holding every role. No answer may be a 5xx, and a refused request (4xx) must leave everything
as it was: every table a command writes, the outbox, the number sequences and Redis (the
rate-limit counters aside, which count every request by design).

The run is bounded (a few examples per operation, ``LIS_FUZZ_EXAMPLES``) to stay short in CI."""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Callable, Iterator

import pytest
import redis
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from sqlalchemy import create_engine, text

from infra.config.settings import Settings
from infra.http.auth import ROLES, mint_token
from tests.integration.http.conftest import ORG_A, Snapshot

pytestmark = pytest.mark.integration
EXAMPLES = int(os.environ.get("LIS_FUZZ_EXAMPLES", "8"))


@pytest.fixture(scope="module")
def api_schema(api_url: str) -> schemathesis.BaseSchema:
    return schemathesis.openapi.from_url(f"{api_url}/openapi.json")


@pytest.fixture(scope="module")
def everything(
    api_settings: Settings, written: Callable[[], Snapshot]
) -> Iterator[Callable[[], Snapshot]]:
    engine = create_engine(api_settings.database_url)
    cache = redis.Redis.from_url(api_settings.redis_url)
    cache.flushdb()  # the test run's own Redis database: start from nothing to compare
    cache.close()

    def snapshot() -> Snapshot:
        state = written()
        with engine.connect() as conn:
            for table in ("mrn_counters", "accession_counters"):
                state[table] = sorted(conn.execute(text(f"SELECT * FROM {table}")).all())
        return state

    yield snapshot
    engine.dispose()


@pytest.fixture(scope="module")
def all_roles(api_settings: Settings) -> dict[str, str]:
    token = mint_token(
        api_settings.jwt_secret.get_secret_value(),
        user_id="fuzz.user",
        organization_id=ORG_A,
        roles=[r for r in ROLES if r != "clinician"],
        minutes=120,
    )
    return {"Authorization": f"Bearer {token}"}


def test_no_request_gets_a_5xx_and_a_refused_one_writes_nothing(
    api_schema: schemathesis.BaseSchema,
    all_roles: dict[str, str],
    everything: Callable[[], Snapshot],
) -> None:
    # schemathesis' own pytest plugin does not run on this pytest; its strategies do
    operations = [result.ok() for result in api_schema.get_all_operations()]
    assert len(operations) > 30
    sent: Counter[int] = Counter()
    for operation in operations:
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            _fuzz(operation, mode, all_roles, everything, sent)
    # the run reached the code behind the door, not only the door
    assert sum(n for status, n in sent.items() if 200 <= status < 300) > 0, sent
    assert sent[422] > 0, sent
    assert sent[404] > 0, sent


def _fuzz(
    operation: schemathesis.APIOperation,
    mode: GenerationMode,
    auth: dict[str, str],
    everything: Callable[[], Snapshot],
    sent: Counter[int],
) -> None:
    @given(case=operation.as_strategy(generation_mode=mode))
    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        suppress_health_check=list(HealthCheck),
        derandomize=True,
        database=None,
    )
    def run(case: schemathesis.Case) -> None:
        before = everything()
        response = case.call(headers={**(case.headers or {}), **auth}, timeout=30)
        sent[response.status_code] += 1
        label = f"{case.method} {case.formatted_path} ({mode.value})"
        assert response.status_code < 500, f"{label} -> {response.status_code}: {response.text}"
        if response.status_code >= 400:
            assert everything() == before, f"{label} -> {response.status_code} wrote something"

    try:
        run()
    except Unsatisfiable:
        # nothing to make invalid (no parameters, no body): the positive run covered it
        assert mode is GenerationMode.NEGATIVE, operation.label
