"""Calling the API from Python: a command becomes its route (the same table the server uses),
sent with a token for its user in the route's role, its correlation id as X-Correlation-ID and
its command id as Idempotency-Key (a retried request returns the first outcome).

``ApiClient.send`` has the bus's shape (command -> outcome), so the lab-day simulation and
``lis api`` drive the API exactly as they drove the bus."""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable
from datetime import date, datetime
from typing import Any

import httpx

from domains.shared.messages import Command
from infra.http.auth import mint_token
from infra.http.command_table import IDENTITY_FIELDS, ROUTE_BY_COMMAND, CommandRoute

TokenFor = Callable[[str, str], str]  # (user id, role) -> bearer token
RATE_LIMIT_RETRIES = 3


class ApiError(Exception):
    """The API refused (problem details in ``problem``)."""

    def __init__(self, status: int, problem: dict[str, Any]) -> None:
        super().__init__(f"HTTP {status}: {problem.get('detail', problem)}")
        self.status, self.problem = status, problem


class LocalTokens:
    """Tokens minted with the API's own HS256 secret (local stack, simulation, benchmark),
    one per (user, role), renewed a minute before they expire."""

    def __init__(self, secret: str, organization_id: str, minutes: int = 60) -> None:
        self.secret, self.organization_id, self.minutes = secret, organization_id, minutes
        self._cache: dict[tuple[str, str], tuple[float, str]] = {}

    def __call__(self, user_id: str, role: str) -> str:
        cached = self._cache.get((user_id, role))
        if cached is None or cached[0] < time.monotonic():
            token = mint_token(
                self.secret,
                user_id=user_id,
                organization_id=self.organization_id,
                roles=[role],
                minutes=self.minutes,
            )
            cached = (time.monotonic() + (self.minutes - 1) * 60, token)
            self._cache[(user_id, role)] = cached
        return cached[1]


def jsonable(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: jsonable(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    return value


def request_for(command: Command) -> tuple[CommandRoute, str, dict[str, Any]]:
    """The route, concrete path and JSON body that carry ``command``."""
    route = ROUTE_BY_COMMAND[type(command)]
    path = route.path.format(**{name: getattr(command, name) for name in route.path_params})
    skip = {*IDENTITY_FIELDS, *route.path_params}
    body = {
        f.name: jsonable(getattr(command, f.name))
        for f in dataclasses.fields(command)
        if f.name not in skip
    }
    return route, f"/api/v1{path}", body


class ApiClient:
    def __init__(self, base_url: str, tokens: TokenFor, *, timeout_s: float = 30.0) -> None:
        self.http = httpx.Client(base_url=base_url, timeout=timeout_s)
        self.tokens = tokens

    def send(self, command: Command) -> dict[str, Any]:
        if not command.user_id:
            raise ValueError(f"{command.command_type} through the API needs a user")
        route, path, body = request_for(command)
        headers = {
            "Authorization": f"Bearer {self.tokens(command.user_id, route.roles[0])}",
            "X-Correlation-ID": command.correlation_id,
            "Idempotency-Key": command.command_id,
        }
        for _ in range(RATE_LIMIT_RETRIES):
            response = self.http.request(route.method, path, json=body, headers=headers)
            if response.status_code != 429:
                break
            # the same Idempotency-Key: a retry can never do the work twice
            time.sleep(min(60, int(response.headers.get("retry-after", "1"))))
        outcome: dict[str, Any] = _answer(response)
        return outcome

    def get(self, path: str, user_id: str, role: str, **params: Any) -> Any:
        response = self.http.get(
            path, params=params, headers={"Authorization": f"Bearer {self.tokens(user_id, role)}"}
        )
        return _answer(response)

    def close(self) -> None:
        self.http.close()


def _answer(response: httpx.Response) -> Any:
    if response.is_success:
        if response.headers.get("content-type", "").startswith("application/json"):
            return response.json()
        return response.text
    try:
        problem = response.json()
    except ValueError:
        problem = {"detail": response.text[:200]}
    raise ApiError(response.status_code, problem)
