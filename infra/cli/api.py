"""``lis serve`` (the HTTP API) and ``lis api ...``: the main workflows from a shell, through the
API with a bearer token (``--token`` / ``LIS_API_TOKEN``, or on the local stack one minted for
``--as USER --role ROLE``). Fields are ``name=value`` (lists comma-separated or as JSON)."""

from __future__ import annotations

import json
import os
import typing
from typing import Annotated, Any

import typer

from infra.config.settings import get_settings

app = typer.Typer(no_args_is_help=True, help="Call the HTTP API (the main workflows).")

# subcommand -> command class name (any other command: `lis api send NAME ...`)
WORKFLOWS = {
    "register": "RegisterPatient",
    "order": "PlaceOrder",
    "confirm": "ConfirmOrder",
    "collect": "CollectSample",
    "receive": "ReceiveSample",
    "enter": "EnterResult",
    "verify": "VerifyResult",
    "sign": "SignReport",
    "acknowledge": "AcknowledgeCriticalValue",
}

Fields = Annotated[list[str] | None, typer.Argument(help="name=value ... (ids of the path too)")]
Token = Annotated[str | None, typer.Option("--token", envvar="LIS_API_TOKEN", help="Bearer.")]
User = Annotated[str | None, typer.Option("--as", help="Local stack: mint a token for this user.")]
Role = Annotated[str | None, typer.Option("--role", help="Role of the minted token.")]
Org = Annotated[str, typer.Option("--org", help="Organization of the minted token.")]
Url = Annotated[str | None, typer.Option("--url", help="API base URL (default LIS_API_URL).")]


def serve(
    port: Annotated[int | None, typer.Option(help="Port (default LIS_API_PORT).")] = None,
    host: Annotated[str | None, typer.Option(help="Address (default LIS_API_HOST).")] = None,
    workers: Annotated[int, typer.Option(min=1, help="uvicorn worker processes.")] = 1,
) -> None:
    """Serve the HTTP API (OpenAPI at /openapi.json, docs at /docs)."""
    from infra.http.server import serve as run

    settings = get_settings()
    settings.check_deployable()
    run(host or settings.api_host, port or settings.api_port, workers=workers)


@app.command("token")
def token(
    user: Annotated[str, typer.Option("--user", help="User id (the token's sub).")],
    role: Annotated[list[str], typer.Option("--role", help="Role(s).")],
    org: Org = "lab-main",
    minutes: int = 60,
) -> None:
    """Mint an HS256 access token with the API's secret (local stack and scripts)."""
    from infra.http.auth import mint_token

    typer.echo(
        mint_token(
            get_settings().jwt_secret.get_secret_value(),
            user_id=user,
            organization_id=org,
            roles=role,
            minutes=minutes,
        )
    )


@app.command("send")
def send(
    command: Annotated[str, typer.Argument(help="Command class, e.g. RejectSample.")],
    fields: Fields = None,
    token: Token = None,
    user: User = None,
    role: Role = None,
    org: Org = "lab-main",
    url: Url = None,
) -> None:
    """Send any command through its API route."""
    _send(command, fields or [], token, user, role, org, url)


@app.command("get")
def get(
    path: Annotated[str, typer.Argument(help="e.g. /api/v1/samples/ID")],
    token: Token = None,
    user: User = None,
    role: Role = None,
    org: Org = "lab-main",
    url: Url = None,
) -> None:
    """GET a path of the API and print the answer."""
    import httpx

    settings = get_settings()
    bearer = _bearer(token, user, role, org)
    answer = httpx.get(f"{url or settings.api_url}{path}", headers=bearer, timeout=30)
    _print(answer)


def _send(
    name: str,
    raw: list[str],
    token: str | None,
    user: str | None,
    role: str | None,
    org: str,
    url: str | None,
) -> None:
    import httpx

    from infra.http.command_table import ROUTES

    route = next((r for r in ROUTES if r.name == name), None)
    if route is None:
        raise typer.BadParameter(
            f"unknown command {name}; known: {', '.join(r.name for r in ROUTES)}"
        )
    hints = typing.get_type_hints(route.command)
    values = {k: _value(v, hints.get(k)) for k, _, v in (f.partition("=") for f in raw)}
    missing = [p for p in route.path_params if p not in values]
    if missing:
        raise typer.BadParameter(f"{name} needs {', '.join(f'{p}=...' for p in missing)}")
    path = route.path.format(**{p: values.pop(p) for p in route.path_params})
    bearer = _bearer(token, user, role or route.roles[0], org)
    answer = httpx.request(
        route.method,
        f"{url or get_settings().api_url}/api/v1{path}",
        json=values,
        headers=bearer,
        timeout=30,
    )
    _print(answer)


def _value(raw: str, kind: Any) -> Any:
    text = str(kind)
    if "list" in text and not raw.startswith("["):
        return [part for part in raw.split(",") if part]
    if any(t in text for t in ("list", "bool", "int")):
        try:
            return json.loads(raw)
        except ValueError:
            return raw
    return raw


def _bearer(token: str | None, user: str | None, role: str | None, org: str) -> dict[str, str]:
    if token is None and user is not None and role is not None:
        from infra.http.auth import mint_token

        token = mint_token(
            get_settings().jwt_secret.get_secret_value(),
            user_id=user,
            organization_id=org,
            roles=[role],
        )
    if token is None:
        token = os.environ.get("LIS_API_TOKEN")
    if token is None:
        raise typer.BadParameter("give --token (or LIS_API_TOKEN), or --as USER --role ROLE")
    return {"Authorization": f"Bearer {token}"}


def _print(answer: Any) -> None:
    try:
        typer.echo(json.dumps(answer.json(), indent=2))
    except ValueError:
        typer.echo(answer.text)
    if answer.status_code >= 400:
        raise typer.Exit(1)


def _workflow(command: str) -> Any:
    def run(
        fields: Fields = None,
        token: Token = None,
        user: User = None,
        role: Role = None,
        org: Org = "lab-main",
        url: Url = None,
    ) -> None:
        _send(command, fields or [], token, user, role, org, url)

    run.__doc__ = f"{command} through the API."
    return run


for _name, _command in WORKFLOWS.items():
    app.command(_name)(_workflow(_command))
