"""The API served by uvicorn on a free local port, on the real stack (a fresh Postgres database
per module, the test run's Redis database and topic namespace), and what its tests share:
tokens per (user, roles, organization), a lab flow driven through the API, and a snapshot of
everything a request could write (to prove a refused one wrote nothing)."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
import redis
import uvicorn
from fastapi import FastAPI
from sqlalchemy import create_engine, text

from infra.bootstrap import build_api
from infra.config.settings import Settings
from infra.http.auth import mint_token

pytestmark = pytest.mark.integration

ORG_A, ORG_B = "lab-a", "lab-b"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@contextmanager
def serving(app: FastAPI) -> Iterator[str]:
    """The app on real HTTP (uvicorn in a thread), stopped on exit."""
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the API server did not start")
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


@pytest.fixture(scope="module")
def api_settings(stack: Settings, module_database_url: str) -> Settings:
    # The limits count every request from 127.0.0.1: high here, so that only the rate-limit
    # test (which sets its own) ever meets them.
    return stack.model_copy(
        update={
            "database_url": module_database_url,
            "rate_limit_api_per_minute": 1_000_000,
            "rate_limit_address_per_minute": 1_000_000,
        }
    )


@pytest.fixture(scope="module")
def api_url(api_settings: Settings) -> Iterator[str]:
    with serving(build_api(api_settings)) as url:
        yield url


@dataclass
class Caller:
    """An HTTP client acting as one user with some roles in one organization."""

    http: httpx.Client
    user_id: str
    organization_id: str
    token: str

    def request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        headers = {"Authorization": f"Bearer {self.token}", **kwargs.pop("headers", {})}
        return self.http.request(method, f"/api/v1{path}", headers=headers, **kwargs)

    def post(self, path: str, body: dict[str, Any] | None = None, **kw: Any) -> httpx.Response:
        return self.request("POST", path, json=body if body is not None else {}, **kw)

    def get(self, path: str, **kw: Any) -> httpx.Response:
        return self.request("GET", path, **kw)

    def ok(self, method: str, path: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
        response = self.request(method, path, json=body if body is not None else {})
        assert response.is_success, (response.status_code, response.text)
        answer: dict[str, Any] = response.json()
        return answer


CallerFactory = Callable[..., Caller]


@pytest.fixture(scope="module")
def caller(api_url: str, api_settings: Settings) -> Iterator[CallerFactory]:
    http = httpx.Client(base_url=api_url, timeout=30)
    secret = api_settings.jwt_secret.get_secret_value()

    def make(user: str, *roles: str, org: str = ORG_A) -> Caller:
        token = mint_token(secret, user_id=user, organization_id=org, roles=roles)
        return Caller(http, user, org, token)

    yield make
    http.close()


@dataclass
class Staff:
    desk: Caller
    phleb: Caller
    tech: Caller
    path: Caller
    clinician: Caller
    admin: Caller


def staff_of(make: CallerFactory, org: str) -> Staff:
    return Staff(
        desk=make(f"desk@{org}", "front_desk", org=org),
        phleb=make(f"phleb@{org}", "phlebotomist", org=org),
        tech=make(f"tech@{org}", "technologist", org=org),
        path=make(f"path@{org}", "pathologist", org=org),
        clinician=make(f"dr@{org}", "clinician", org=org),
        admin=make(f"admin@{org}", "admin", org=org),
    )


PATIENT = {
    "family_name": "Sharma",
    "given_name": "Priya",
    "date_of_birth": "1985-04-12",
    "sex": "female",
    "mobile": "9876543210",
    "allow_duplicate": True,
}
POTASSIUM = "2823-3"  # serum, critical above 6.2 mmol/L


def lab_flow(
    s: Staff, placer: str, *, potassium: str = "7.1", provider: str | None = None
) -> dict[str, str]:
    """Register -> order -> collect -> receive -> enter (critical) -> verify, through the API;
    the ids of everything made. ``provider``: the ordering clinician's user id (whose patient
    this is); none by default (nobody's patient)."""
    ids: dict[str, str] = {}
    ids["patient_id"] = s.desk.ok("POST", "/patients", PATIENT)["patient_id"]
    order = {
        "patient_id": ids["patient_id"],
        "placer_order_number": placer,
        "loinc_codes": [POTASSIUM],
        "priority": "stat",
        "ordering_clinician_name": "Dr. A. Rao",
    }
    if provider is not None:
        order["ordering_provider_id"] = provider
    ids["order_id"] = s.desk.ok("POST", "/orders", order)["order_id"]
    s.desk.ok("POST", f"/orders/{ids['order_id']}/confirm")
    sample = s.phleb.ok("POST", f"/orders/{ids['order_id']}/samples", {"specimen_type": "serum"})
    ids["sample_id"] = sample["sample_id"]
    s.tech.ok("POST", f"/samples/{ids['sample_id']}/receive")
    entered = s.tech.ok(
        "POST",
        f"/samples/{ids['sample_id']}/results",
        {"loinc_code": POTASSIUM, "value_text": potassium, "unit": "mmol/L"},
    )
    ids["result_id"] = entered["result_id"]
    return ids


Snapshot = dict[str, Any]
# every row's id and version, in one value per table
_DIGEST = "SELECT count(*), md5(string_agg(id || ':' || version, ',' ORDER BY id)) FROM {table}"


@pytest.fixture(scope="module")
def written(api_settings: Settings) -> Iterator[Callable[[], Snapshot]]:
    """Everything a request could have written: each aggregate table's rows and versions, the
    command log, the outbox, and Redis (but for the rate-limit counters, which count every
    request by design)."""
    engine = create_engine(api_settings.database_url)
    cache = redis.Redis.from_url(api_settings.redis_url)
    tables = ("patients", "orders", "samples", "results", "reports")

    def snapshot() -> Snapshot:
        with engine.connect() as conn:
            state: Snapshot = {t: conn.execute(text(_DIGEST.format(table=t))).one() for t in tables}
            state["command_log"] = conn.execute(text("SELECT count(*) FROM command_log")).scalar()
            state["outbox"] = conn.execute(text("SELECT count(*), max(id) FROM outbox")).one()
        keys = sorted(k for k in cache.scan_iter() if not k.startswith(b"ratelimit:"))
        state["redis"] = {k: cache.dump(k) for k in keys}
        return state

    yield snapshot
    engine.dispose()
    cache.close()
