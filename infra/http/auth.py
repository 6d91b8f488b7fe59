"""Who is calling: a JWT bearer token becomes a ``Principal`` (user, organization, roles).

Two kinds of token are accepted, each with its own algorithm (so one can never pass for the
other): HS256 tokens signed with the API's secret (the API's own session tokens, and locally
the ones ``lis api token`` mints), and RS256 tokens of an identity provider, verified with the
keys its JWKS URL serves. Identity comes from here only, never from a request body.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import jwt

from domains.shared.messages import MAX_ID_LENGTH

ROLES = ("front_desk", "phlebotomist", "technologist", "pathologist", "clinician", "admin")
LOCAL_ISSUER = "lis"


class Unauthenticated(Exception):
    """No usable credentials (HTTP 401). The message says why, without echoing the token."""


class Forbidden(Exception):
    """Authenticated, but not allowed to do this (HTTP 403)."""


@dataclass(frozen=True)
class Principal:
    user_id: str
    organization_id: str
    roles: frozenset[str]
    session_id: str | None = None  # set on the API's own session tokens (revocable)

    def has_any(self, roles: Iterable[str]) -> bool:
        return not self.roles.isdisjoint(roles)


@dataclass(frozen=True)
class TokenConfig:
    secret: str
    jwks_url: str | None = None
    issuer: str | None = None
    audience: str | None = None
    leeway_s: int = 30


class TokenVerifier:
    CACHE_SIZE = 10_000

    def __init__(self, config: TokenConfig) -> None:
        if config.jwks_url and not (config.issuer and config.audience):
            # without both, any token the identity provider signs for any of its clients
            # (with "org" and "roles" claims) would be accepted here
            raise ValueError(
                "an identity provider's JWKS URL needs its issuer and this API's audience too "
                "(LIS_JWT_ISSUER, LIS_JWT_AUDIENCE)"
            )
        self.config = config
        self._jwks = jwt.PyJWKClient(config.jwks_url, lifespan=300) if config.jwks_url else None
        # A client sends the same token for many requests: checking its signature and claims
        # once (until it expires) saves CPU on every request after the first. Sessions are
        # still checked per request (revocation takes effect at once).
        self._verified: dict[str, tuple[float, Principal]] = {}

    def verify(self, token: str) -> Principal:
        cached = self._verified.get(token)
        if cached is not None and cached[0] > time.time():
            return cached[1]
        principal, expires = self._verify(token)
        if len(self._verified) >= self.CACHE_SIZE:
            self._verified.clear()
        self._verified[token] = (expires, principal)
        return principal

    def _verify(self, token: str) -> tuple[Principal, float]:
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError:
            raise Unauthenticated("the bearer token is not a JWT") from None
        alg = header.get("alg")
        try:
            if alg == "HS256":
                claims = jwt.decode(
                    token,
                    self.config.secret,
                    algorithms=["HS256"],
                    issuer=LOCAL_ISSUER,
                    options={"require": ["exp", "sub", "iss"], "verify_aud": False},
                    leeway=self.config.leeway_s,
                )
            elif alg == "RS256" and self._jwks is not None:
                key = self._jwks.get_signing_key_from_jwt(token).key
                claims = jwt.decode(
                    token,
                    key,
                    algorithms=["RS256"],
                    issuer=self.config.issuer,
                    audience=self.config.audience,
                    options={"require": ["exp", "sub", "iss", "aud"], "verify_aud": True},
                    leeway=self.config.leeway_s,
                )
            else:
                raise Unauthenticated(f"tokens signed with {alg!r} are not accepted")
        except jwt.ExpiredSignatureError:
            raise Unauthenticated("the token has expired") from None
        except jwt.PyJWKClientError:
            raise Unauthenticated("the token's signing key is unknown") from None
        except jwt.PyJWTError as exc:
            raise Unauthenticated(f"the token is not valid ({type(exc).__name__})") from None
        return principal_from_claims(claims), float(claims["exp"])


def principal_from_claims(claims: dict[str, Any]) -> Principal:
    user, org, roles = claims.get("sub"), claims.get("org"), claims.get("roles", [])
    for name, value in (("sub", user), ("org", org)):
        if not _is_id(value):
            raise Unauthenticated(f"the token's {name!r} claim is missing or not an id")
    if not isinstance(roles, list) or not all(isinstance(r, str) for r in roles):
        raise Unauthenticated("the token's 'roles' claim must be a list of role names")
    sid = claims.get("sid")
    return Principal(
        user_id=str(user),
        organization_id=str(org),
        roles=frozenset(r for r in roles if r in ROLES),  # unknown roles grant nothing
        session_id=sid if isinstance(sid, str) else None,
    )


def _is_id(value: object) -> bool:
    # user ids land in the command log (64 wide) and in event metadata
    return (
        isinstance(value, str)
        and 0 < len(value) <= min(64, MAX_ID_LENGTH)
        and value.isprintable()
        and value == value.strip()
    )


def mint_token(
    secret: str,
    *,
    user_id: str,
    organization_id: str,
    roles: Iterable[str],
    minutes: int = 15,
    session_id: str | None = None,
) -> str:
    """An HS256 access token of the API's own (sessions; `lis api token` on the local stack)."""
    unknown = set(roles) - set(ROLES)
    if unknown:
        raise ValueError(f"unknown role(s) {sorted(unknown)}; roles are {', '.join(ROLES)}")
    now = int(time.time())
    claims: dict[str, Any] = {
        "iss": LOCAL_ISSUER,
        "sub": user_id,
        "org": organization_id,
        "roles": sorted(set(roles)),
        "iat": now,
        "exp": now + minutes * 60,
    }
    if session_id:
        claims["sid"] = session_id
    return jwt.encode(claims, secret, algorithm="HS256")
