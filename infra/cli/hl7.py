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


@app.command("subscribe")
def subscribe(
    org: Annotated[str, typer.Option(help="Organization whose verified results are sent.")],
    name: Annotated[str, typer.Option(help="A name for the receiving system.")],
    host: Annotated[str, typer.Option(help="Its MLLP host.")],
    port: Annotated[int, typer.Option(help="Its MLLP port.")],
    application: Annotated[str, typer.Option(help="Its MSH-5 receiving application.")] = "EHR",
    facility: Annotated[str, typer.Option(help="Its MSH-6 receiving facility.")] = "HOSP",
) -> None:
    """Send every verified result of ORG as ORU^R01 to a system (run `lis worker hl7-results`
    and `lis hl7 deliver`)."""
    from infra.db.engine import make_engine
    from infra.hl7.store import InterfaceStore

    store = InterfaceStore(make_engine(get_settings().database_url))
    subscription = store.subscribe(org, name, host, port, (application, facility))
    typer.echo(f"subscription {subscription}: {org} results -> {host}:{port}")


@app.command("deliver")
def deliver(
    timeout: Annotated[float, typer.Option(help="Seconds to wait for an ACK.")] = 10.0,
) -> None:
    """Send recorded results to their subscribers until acknowledged (until SIGTERM/SIGINT)."""
    from domains.shared.clock import SystemClock
    from infra.db.engine import make_engine
    from infra.hl7.delivery import ResultSender

    settings = get_settings()
    sender = ResultSender(
        make_engine(settings.database_url), SystemClock(), timeout=timeout,
        max_naks=settings.hl7_max_naks,
    )  # fmt: skip
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: sender.stop())
    sender.run()
