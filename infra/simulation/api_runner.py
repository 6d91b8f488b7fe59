"""The API a simulated day talks to: the one already answering at ``LIS_API_URL``, or one this
run starts (``lis serve`` as a child process, log in the stack's log folder) and stops."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from rich.console import Console

from infra.config.settings import Settings
from infra.http.server import answers, start_api_process, stop
from infra.simulation.through_api import TimedApiSend


@contextmanager
def api_for_simulation(settings: Settings, org: str) -> Iterator[TimedApiSend]:
    console = Console()
    process = None
    if not answers(settings.api_url):
        log = settings.stack_home / "logs" / "api.log"
        # One process plays a whole lab's staff from one address, a day in minutes: this
        # private API's limits are raised so that the simulation measures the lab, not them.
        raised = {
            "LIS_RATE_LIMIT_API_PER_MINUTE": "1000000",
            "LIS_RATE_LIMIT_ADDRESS_PER_MINUTE": "1000000",
        }
        process = start_api_process(settings.api_port, log, env=raised)
        console.print(f"API started on {settings.api_url} (log: {log})")
    send = TimedApiSend(settings.api_url, settings.jwt_secret.get_secret_value(), org)
    try:
        yield send
    finally:
        send.close()
        if process is not None:
            stop(process)
            console.print(f"API stopped (`lis serve` serves it again on {settings.api_url})")
