"""``lis hl7``: the MLLP listener, the result sender, and the interface's partners."""

from __future__ import annotations

import asyncio
import signal
from typing import Annotated

import typer

from infra.config.settings import get_settings

app = typer.Typer(no_args_is_help=True, help="HL7 v2 over MLLP (analyzers, hospital systems).")


@app.command("listen")
def listen(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="MLLP port.")] = 2575,
) -> None:
    """Answer OML^O21/ORM^O01 (orders) and ORU^R01 (analyzer results) until SIGTERM/SIGINT."""
    from infra.bootstrap import build_hl7_inbound
    from infra.hl7.listener import serve_until

    inbound = build_hl7_inbound(get_settings())

    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        await serve_until(inbound.answer, host, port, stop)

    asyncio.run(main())


@app.command("partner")
def partner(
    org: Annotated[str, typer.Option(help="Organization (tenant) the sender belongs to.")],
    application: Annotated[str, typer.Option(help="Its MSH-3 sending application.")],
    facility: Annotated[str, typer.Option(help="Its MSH-4 sending facility.")],
    kind: Annotated[str, typer.Option(help="his (orders) or analyzer (results).")] = "his",
    code: Annotated[
        list[str] | None, typer.Option(help="Analyzer test code map, CODE=LOINC (repeatable).")
    ] = None,
) -> None:
    """Allow a hospital system or an analyzer to send messages for an organization."""
    from infra.db.engine import make_engine
    from infra.hl7.store import InterfaceStore, Partner

    if kind not in ("his", "analyzer"):
        raise typer.BadParameter("kind must be his or analyzer")
    codes = dict(c.split("=", 1) for c in code or [])
    store = InterfaceStore(make_engine(get_settings().database_url))
    store.add_partner(Partner(application, facility, org, kind, codes))
    typer.echo(f"{application}|{facility} may send {kind} messages for {org}")
