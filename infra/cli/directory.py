"""``lis directory``: the provider directory and on-call roster critical value calls use.

Contacts are stored in Postgres (never on Kafka) and shown masked. A YAML file seeds a whole
organization (``lis directory load``; the demo's is ``infra/simulation/directory.yaml``):

    organization: lab-main
    providers:
      - {id: dr-rao, name: Dr. A. Rao, role: clinician, email: a.rao@example.org,
         channels: [email]}
    on_call:
      - {role: lab_supervisor, provider: sup-menon}     # from now on, until replaced
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import typer

from infra.config.settings import get_settings

app = typer.Typer(no_args_is_help=True, help="Provider directory and on-call roster.")
Org = Annotated[str, typer.Option(help="Organization (tenant) id.")]
# the start of a roster entry loaded without one: early enough to cover any test or demo day
ALWAYS = datetime(2000, 1, 1, tzinfo=UTC)


def _session() -> Any:
    from infra.db.engine import make_engine, make_session_factory

    return make_session_factory(make_engine(get_settings().database_url)).begin()


def _fail(exc: Exception) -> typer.Exit:
    typer.secho(f"refused: {exc}", fg=typer.colors.RED, err=True)
    return typer.Exit(2)


@app.command("add")
def add(
    provider_id: Annotated[str, typer.Argument(help="The provider's id (orders name it).")],
    name: Annotated[str, typer.Option(help="Name as called: 'Dr. A. Rao'.")],
    role: Annotated[str, typer.Option(help="clinician | lab_supervisor | pathologist")],
    org: Org = "lab-main",
    email: Annotated[str | None, typer.Option()] = None,
    mobile: Annotated[str | None, typer.Option(help="Indian mobile, for SMS.")] = None,
    whatsapp: Annotated[str | None, typer.Option(help="Indian mobile, for WhatsApp.")] = None,
    channels: Annotated[str, typer.Option(help="In order: email,sms,whatsapp")] = "email",
) -> None:
    """Add or replace a provider."""
    from consumers.processors.directory import save_provider
    from domains.shared.errors import InvalidInput

    try:
        with _session() as session:
            save_provider(
                session, org, provider_id, name=name, role=role,
                channels=[c.strip() for c in channels.split(",") if c.strip()],
                email=email, mobile=mobile, whatsapp=whatsapp,
            )  # fmt: skip
    except InvalidInput as exc:
        raise _fail(exc) from exc
    typer.echo(f"{provider_id} saved ({role}, {channels})")


@app.command("on-call")
def on_call(
    role: Annotated[str, typer.Argument(help="lab_supervisor | pathologist")],
    provider_id: Annotated[str, typer.Argument()],
    org: Org = "lab-main",
    starts: Annotated[datetime | None, typer.Option(help="Default: now.")] = None,
    ends: Annotated[datetime | None, typer.Option(help="Default: until replaced.")] = None,
) -> None:
    """Put a provider on call for an escalation role (UTC unless the time says otherwise)."""
    from consumers.processors.directory import put_on_call
    from domains.shared.errors import InvalidInput

    def aware(t: datetime | None) -> datetime | None:
        return t if t is None or t.tzinfo else t.replace(tzinfo=UTC)

    try:
        with _session() as session:
            put_on_call(
                session, org, role, provider_id, starts_at=aware(starts) or datetime.now(UTC),
                ends_at=aware(ends),
            )  # fmt: skip
    except InvalidInput as exc:
        raise _fail(exc) from exc
    typer.echo(f"{provider_id} on call as {role}")


@app.command("load")
def load(path: Annotated[Path, typer.Argument(exists=True, dir_okay=False)]) -> None:
    """Load (add or replace) an organization's providers and on-call roster from YAML."""
    from domains.shared.errors import InvalidInput

    try:
        counts = load_file(path)
    except (InvalidInput, KeyError, TypeError, ValueError) as exc:
        raise _fail(ValueError(f"{path}: {exc}")) from exc
    typer.echo(f"{path}: {counts[0]} providers, {counts[1]} on-call entries")


def load_file(path: Path, database_url: str | None = None) -> tuple[int, int]:
    """Load a directory file into ``database_url`` (default: the settings'); one transaction."""
    import yaml

    from consumers.processors.directory import put_on_call, save_provider
    from infra.db.engine import make_engine, make_session_factory

    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    if not isinstance(data, dict) or set(data) - {"organization", "providers", "on_call"}:
        raise ValueError("expected the keys organization, providers, on_call")
    org = str(data["organization"])
    engine = make_engine(database_url or get_settings().database_url)
    try:
        with make_session_factory(engine).begin() as session:
            for p in data.get("providers") or []:
                save_provider(
                    session, org, str(p["id"]), name=p["name"], role=p["role"],
                    channels=list(p.get("channels") or ["email"]), email=p.get("email"),
                    mobile=p.get("mobile"), whatsapp=p.get("whatsapp"),
                )  # fmt: skip
            for entry in data.get("on_call") or []:
                put_on_call(
                    session, org, entry["role"], str(entry["provider"]),
                    starts_at=entry.get("starts_at") or ALWAYS, ends_at=entry.get("ends_at"),
                )  # fmt: skip
    finally:
        engine.dispose()
    return len(data.get("providers") or []), len(data.get("on_call") or [])


@app.command("list")
def listing(org: Org = "lab-main") -> None:
    """The organization's providers, contacts masked."""
    from consumers.processors.directory import listing as rows

    with _session() as session:
        found = rows(session, org)
    for row in found:
        typer.echo(
            f"{row['provider_id']:<16} {row['role']:<15} {row['name']:<28} "
            f"{row['channels']:<16} {row['contacts']}"
        )
    if not found:
        typer.echo(f"no providers for {org}")
