"""``lis worker``: each processor in a process of its own, supervised.

A worker process builds its consumer from the settings (``infra.bootstrap.build_worker``) and
runs it until SIGTERM, which lets it finish and commit the message (or batch) in hand. The
parent restarts a worker that dies, and on SIGTERM/SIGINT passes the signal on and waits for
them all. More
processes of one processor (``lis worker routing routing``) share its consumer group, so Kafka
spreads the partitions across them.
"""

from __future__ import annotations

import multiprocessing
import signal
import threading
from typing import Any

import structlog

from infra.config.settings import Settings

log = structlog.get_logger(__name__)
_spawn = multiprocessing.get_context("spawn")  # never fork a process holding sockets/threads


def run_worker(settings: Settings, name: str) -> None:
    """One processor in this process, until SIGTERM/SIGINT."""
    from infra.bootstrap import build_runner
    from infra.config.logging import configure_logging

    configure_logging(settings.log_level)  # a spawned process starts unconfigured
    build_runner(settings, name).run()


def supervise(settings: Settings, names: list[str], restart_after: float = 5.0) -> None:
    """Run each named processor in its own process until SIGTERM/SIGINT."""
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    procs: dict[int, Any] = {i: _start(settings, name) for i, name in enumerate(names)}
    log.info("workers.started", processors=names)
    try:
        while not stop.wait(1.0):
            for i, proc in list(procs.items()):
                if proc.exitcode is not None and not stop.wait(restart_after):
                    log.warning("workers.restart", processor=names[i], exitcode=proc.exitcode)
                    procs[i] = _start(settings, names[i])
    finally:
        for proc in procs.values():
            proc.terminate()  # SIGTERM: the message in hand is finished and committed
        for proc in procs.values():
            proc.join(timeout=60)
            if proc.is_alive():
                proc.kill()
                proc.join(timeout=10)
        log.info("workers.stopped", processors=names)


def _start(settings: Settings, name: str) -> Any:
    proc = _spawn.Process(target=run_worker, args=(settings, name), name=f"worker-{name}")
    proc.start()
    return proc
