"""`lis bench api`: result entry through the HTTP API at a fixed rate, on the real stack, with
real tokens, beside two baselines measured in the same run:

* the bus: the same EnterResult commands handled in this process, one after another, without
  HTTP (wall and CPU per command: what the unit of work costs);
* a trivial endpoint (``/health/live``) over HTTP at the same rate (what HTTP, the server and
  the load generator cost with no command at all).

The load is open-loop: request i is due at start + i/rate and its latency runs from that due
time, so a slow server shows as latency (queueing), never as a quietly lower rate. The API runs
in a child process (``lis serve``) on a fresh database; its CPU per request is read from
/proc. Set-up through the bus is not timed.
"""

from __future__ import annotations

import asyncio
import os
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from domains.catalog.model import load_catalog
from infra.bench.api_data import ORG, Entry, enter_command, received_samples
from infra.config.settings import Settings
from infra.db.migrate import scratch_database
from infra.http.auth import mint_token
from infra.http.server import start_api_process, stop
from infra.simulation.through_api import percentile

TECHNOLOGISTS = 8  # requests are spread over several users, as on a real bench
CONNECTIONS = 16


@dataclass
class Run:
    name: str
    latencies_ms: list[float] = field(default_factory=list)
    statuses: Counter[int] = field(default_factory=Counter)
    seconds: float = 0.0
    server_cpu_s: float | None = None

    def line(self) -> str:
        ms, n = self.latencies_ms, len(self.latencies_ms)
        errors = sum(v for k, v in self.statuses.items() if not 200 <= k < 300)
        cpu = (
            f", server CPU {self.server_cpu_s / n * 1000:.2f} ms/req"
            if self.server_cpu_s and n
            else ""
        )
        return (
            f"{self.name:<34} n={n:<5} {n / self.seconds:6.1f}/s  p50 {percentile(ms, 50):6.2f}  "
            f"p95 {percentile(ms, 95):6.2f}  p99 {percentile(ms, 99):6.2f}  "
            f"max {max(ms, default=0):7.2f} ms"
            f"  errors {errors}{cpu}"
        )


def _proc_cpu_s(pid: int) -> float:
    """User + system CPU of a process and its children (uvicorn workers), from /proc."""
    total = 0.0
    tick = os.sysconf("SC_CLK_TCK")
    pids = [pid, *_children(pid)]
    for p in pids:
        try:
            fields = Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += (int(fields[11]) + int(fields[12])) / tick
    return total


def _children(pid: int) -> list[int]:
    found: list[int] = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            found += [int(c) for c in (task / "children").read_text().split()]
        except OSError:
            continue
    return found + [g for c in found for g in _children(c)]


async def _open_loop(url: str, requests: list[dict[str, Any]], rate: float, name: str) -> Run:
    import aiohttp

    run = Run(name)
    # Few connections, opened before the clock starts: a burst of new connections under load
    # costs both sides CPU and feeds on itself (slower -> more connections -> slower).
    connector = aiohttp.TCPConnector(limit=CONNECTIONS)
    timeout = aiohttp.ClientTimeout(total=30)
    async with aiohttp.ClientSession(url, connector=connector, timeout=timeout) as session:

        async def warm() -> None:
            async with session.get("/health/live") as response:
                await response.read()

        await asyncio.gather(*(warm() for _ in range(CONNECTIONS)))
        began = time.perf_counter()

        async def one(i: int, request: dict[str, Any]) -> None:
            due = began + i / rate
            delay = due - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            try:
                async with session.request(**request) as response:
                    await response.read()
                    run.statuses[response.status] += 1
            except (aiohttp.ClientError, TimeoutError):
                run.statuses[0] += 1
            run.latencies_ms.append((time.perf_counter() - due) * 1000)

        await asyncio.gather(*(one(i, r) for i, r in enumerate(requests)))
        run.seconds = time.perf_counter() - began
    return run


def _entry_requests(entries: list[Entry], tokens: list[str]) -> list[dict[str, Any]]:
    return [
        {
            "method": "POST",
            "url": f"/api/v1/samples/{e.sample_id}/results",
            "json": {"loinc_code": e.loinc_code, "value_text": e.value_text, "unit": e.unit},
            "headers": {"Authorization": f"Bearer {tokens[i % len(tokens)]}"},
        }
        for i, e in enumerate(entries)
    ]


def _bus_baseline(settings: Settings, entries: list[Entry]) -> Run:
    from infra.bootstrap import bootstrap

    bus = bootstrap(settings)
    run = Run("bus, no HTTP (one at a time)")
    cpu0, began = time.process_time(), time.perf_counter()
    for i, entry in enumerate(entries):
        t0 = time.perf_counter()
        bus.handle(enter_command(entry, f"bench.tech{i % TECHNOLOGISTS}"))
        run.latencies_ms.append((time.perf_counter() - t0) * 1000)
        run.statuses[200] += 1
    run.seconds = time.perf_counter() - began
    run.server_cpu_s = time.process_time() - cpu0
    return run


def run_bench(
    settings: Settings, *, rate: float, seconds: float, workers: int, port: int, baseline: int
) -> list[Run]:
    import logging

    import structlog

    # a log line per command would cost the baseline CPU that the API server does not spend
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))
    total = int(rate * seconds)
    with scratch_database(settings.database_url, "lis_bench_api") as url:
        bench_settings = settings.model_copy(update={"database_url": url})
        from infra.bootstrap import bootstrap

        entries = received_samples(bootstrap(bench_settings), load_catalog(), total + baseline)
        runs = [_bus_baseline(bench_settings, entries[total:])]
        env = {
            "LIS_DATABASE_URL": url,
            "LIS_RATE_LIMIT_API_PER_MINUTE": "100000000",
            "LIS_LOG_LEVEL": "WARNING",
        }
        log = settings.stack_home / "logs" / "bench-api.log"
        process = start_api_process(port, log, workers=workers, env=env)
        api = f"http://127.0.0.1:{port}"
        secret = settings.jwt_secret.get_secret_value()
        tokens = [
            mint_token(
                secret, user_id=f"bench.tech{i}", organization_id=ORG, roles=["technologist"]
            )
            for i in range(TECHNOLOGISTS)
        ]
        try:
            live = [{"method": "GET", "url": "/health/live"}] * int(rate * min(seconds, 10))
            asyncio.run(_open_loop(api, live[: int(rate)], rate, "warm-up"))
            cpu0 = _proc_cpu_s(process.pid)
            trivial = asyncio.run(_open_loop(api, live, rate, "HTTP, trivial endpoint"))
            trivial.server_cpu_s = _proc_cpu_s(process.pid) - cpu0
            runs.append(trivial)
            cpu0 = _proc_cpu_s(process.pid)
            entered = asyncio.run(
                _open_loop(api, _entry_requests(entries[:total], tokens), rate, "HTTP, EnterResult")
            )
            entered.server_cpu_s = _proc_cpu_s(process.pid) - cpu0
            runs.append(entered)
        finally:
            stop(process)
    return runs
