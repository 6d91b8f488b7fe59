"""Authentication on the real stack: an identity provider's RS256 tokens verified through a
JWKS URL (served here by a local HTTP server), sessions with refresh and revocation in Redis,
and rate limits per client address and per user."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import jwt
import pytest
import redis
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm

from infra.bootstrap import build_api
from infra.config.settings import Settings
from infra.http.auth import mint_token
from tests.integration.http.conftest import ORG_A, PATIENT, serving

pytestmark = pytest.mark.integration
ISSUER, AUDIENCE = "https://idp.lab.test/", "lis-api"


@pytest.fixture(scope="module")
def rsa_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture(scope="module")
def jwks_url(rsa_key: rsa.RSAPrivateKey) -> Iterator[str]:
    public = json.loads(RSAAlgorithm.to_jwk(rsa_key.public_key()))
    body = json.dumps({"keys": [{**public, "kid": "idp-1", "use": "sig", "alg": "RS256"}]})

    class Jwks(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(body.encode())

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Jwks)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/jwks.json"
    server.shutdown()


@pytest.fixture(scope="module")
def api(api_settings: Settings, jwks_url: str) -> Iterator[tuple[httpx.Client, Settings]]:
    settings = api_settings.model_copy(
        update={
            "jwt_jwks_url": jwks_url,
            "jwt_issuer": ISSUER,
            "jwt_audience": AUDIENCE,
            "rate_limit_token_per_minute": 6,  # the session test makes 5 token requests
            "rate_limit_api_per_minute": 40,
        }
    )
    cache = redis.Redis.from_url(settings.redis_url)
    for key in cache.scan_iter("ratelimit:*"):  # this minute's counts of the other modules
        cache.delete(key)
    cache.close()
    with serving(build_api(settings)) as url, httpx.Client(base_url=url, timeout=30) as http:
        yield http, settings


def idp_token(key: rsa.RSAPrivateKey, **claims: Any) -> str:
    now = int(time.time())
    payload = {
        "iss": ISSUER,
        "aud": AUDIENCE,
        "sub": "desk.idp",
        "org": ORG_A,
        "roles": ["front_desk"],
        "iat": now,
        "exp": now + 300,
        **claims,
    }
    return jwt.encode(payload, key, algorithm="RS256", headers={"kid": "idp-1"})


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_an_identity_providers_token_is_verified_through_its_jwks(
    api: tuple[httpx.Client, Settings], rsa_key: rsa.RSAPrivateKey
) -> None:
    http, _ = api
    created = http.post("/api/v1/patients", json=PATIENT, headers=bearer(idp_token(rsa_key)))
    assert created.status_code == 201, created.text
    wrong_audience = idp_token(rsa_key, aud="another-api")
    assert (
        http.post("/api/v1/patients", json=PATIENT, headers=bearer(wrong_audience)).status_code
        == 401
    )
    stranger = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    assert http.get("/api/v1/patients/x-1", headers=bearer(idp_token(stranger))).status_code == 401
    expired = idp_token(rsa_key, exp=int(time.time()) - 3600)
    answer = http.get("/api/v1/patients/x-1", headers=bearer(expired))
    assert (answer.status_code, answer.json()["detail"]) == (401, "the token has expired")
    # an RS256 token cannot pass as HS256 (the algorithm is tied to the key kind)
    unsigned = jwt.encode({"sub": "x", "org": ORG_A, "roles": ["admin"]}, None, algorithm="none")
    assert http.get("/api/v1/patients/x-1", headers=bearer(unsigned)).status_code == 401


def test_a_session_refreshes_and_once_revoked_its_tokens_stop_working(
    api: tuple[httpx.Client, Settings], rsa_key: rsa.RSAPrivateKey
) -> None:
    http, settings = api
    started = http.post("/api/v1/auth/sessions", headers=bearer(idp_token(rsa_key)))
    assert started.status_code == 201, started.text
    session = started.json()
    access = bearer(session["access_token"])
    assert (
        http.get("/api/v1/patients", params={"name": "Sharma"}, headers=access).status_code == 200
    )
    # a session's own access token cannot open another session (a copied one would outlive
    # the revocation of the session it was taken from)
    nested = http.post("/api/v1/auth/sessions", headers=access)
    assert nested.status_code == 403, nested.text
    assert nested.headers["content-type"] == "application/problem+json"
    refreshed = http.post("/api/v1/auth/refresh", json={"refresh_token": session["refresh_token"]})
    assert refreshed.status_code == 200
    # the used refresh token is spent: presenting it again ends the session (it was copied)
    replayed = http.post("/api/v1/auth/refresh", json={"refresh_token": session["refresh_token"]})
    assert replayed.status_code == 401
    assert http.get("/api/v1/patients", params={"name": "S"}, headers=access).status_code == 401

    second = http.post("/api/v1/auth/sessions", headers=bearer(idp_token(rsa_key))).json()
    admin = mint_token(
        settings.jwt_secret.get_secret_value(),
        user_id="admin-1",
        organization_id=ORG_A,
        roles=["admin"],
    )
    other_org_admin = mint_token(
        settings.jwt_secret.get_secret_value(),
        user_id="admin-2",
        organization_id="lab-b",
        roles=["admin"],
    )
    path = f"/api/v1/auth/sessions/{second['session_id']}"
    assert http.delete(path, headers=bearer(other_org_admin)).status_code == 404
    assert http.delete(path, headers=bearer(admin)).status_code == 204
    revoked = http.get("/api/v1/patients/x-1", headers=bearer(second["access_token"]))
    assert (revoked.status_code, "ended" in revoked.json()["detail"]) == (401, True)


def test_token_endpoints_and_the_api_are_rate_limited_with_retry_after(
    api: tuple[httpx.Client, Settings],
) -> None:
    http, settings = api
    statuses = [
        http.post("/api/v1/auth/refresh", json={"refresh_token": "nope.nope"}).status_code
        for _ in range(settings.rate_limit_token_per_minute + 2)
    ]
    assert 429 in statuses
    token = mint_token(
        settings.jwt_secret.get_secret_value(),
        user_id="busy-user",
        organization_id=ORG_A,
        roles=["front_desk"],
    )
    answers = [
        http.get("/api/v1/patients/x-1", headers=bearer(token))
        for _ in range(settings.rate_limit_api_per_minute + 1)
    ]
    limited = [a for a in answers if a.status_code == 429]
    assert limited, [a.status_code for a in answers]
    assert int(limited[0].headers["retry-after"]) <= 60
    assert limited[0].headers["content-type"] == "application/problem+json"
