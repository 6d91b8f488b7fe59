"""Relay workers as processes: ``lis relay --workers N``, ``lis relay --once`` and the benchmark.

Why processes: one Python process serialises reading rows (psycopg builds Python objects under
the GIL) with producing them, and idles while Kafka acknowledges a batch. Two processes fill
each other's gaps and use both cores; each has its own connection, producer and slots (worker
i of N publishes the slots ``s % N == i``, see ``outbox_reader``), so an aggregate's rows still
go out in order from a single producer. One worker runs in-process.

``factory(worker, workers) -> Relay`` builds a worker in the child, so it must pickle: a
module-level function or a ``functools.partial`` of one.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import signal
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from time import perf_counter, process_time
from typing import Any

import structlog

from producers.relay import Relay
from schemas.fingerprints import UnknownWriterSchemaError

log = structlog.get_logger(__name__)

DEFAULT_WORKERS = 2  # one per core: measured best on a 2-core machine (`lis bench relay`)
EXIT_UNKNOWN_SCHEMA = 3
RelayFactory = Callable[[int, int], Relay]
_spawn = multiprocessing.get_context("spawn")  # never fork a process holding sockets/threads


@dataclass
class DrainReport:
    published: int = 0
    wall_s: float = 0.0  # from the start signal until the last worker was done
    seconds: dict[str, float] = field(default_factory=dict)  # phases, summed over workers


def drain(factory: RelayFactory, workers: int) -> DrainReport:
    """Every worker publishes its slots until nothing committed is left, then stops.

    Workers connect first and start together, so the wall time is the publishing alone."""
    if workers == 1:
        relay = factory(0, 1)
        relay.warm_up()
        started = perf_counter()
        published, seconds = _drain(relay)
        return DrainReport(published, perf_counter() - started, seconds)
    children = [_start_process(_drain_worker, factory, i, workers) for i in range(workers)]
    try:
        for _, conn in children:
            _expect(conn, "ready")
        started = perf_counter()
        for _, conn in children:
            conn.send("go")
        report = DrainReport()
        for _, conn in children:
            published, seconds = _expect(conn, "done")
            report.published += published
            for phase, s in seconds.items():
                report.seconds[phase] = report.seconds.get(phase, 0.0) + s
        report.wall_s = perf_counter() - started
    finally:
        for proc, conn in children:
            conn.close()  # a worker still waiting for "go" sees EOF and exits
            proc.join(timeout=150)
    return report


def run(factory: RelayFactory, workers: int, restart_after: float = 5.0) -> None:
    """Relay until SIGTERM/SIGINT. A worker that dies is restarted (its slots were released
    with its session); one that meets an unknown writer schema stops them all."""
    if workers == 1:
        factory(0, 1).run()
        return
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    procs = {i: _start_process(_run_worker, factory, i, workers) for i in range(workers)}
    try:
        while not stop.wait(1.0):
            for i, (proc, _) in list(procs.items()):
                if proc.exitcode == EXIT_UNKNOWN_SCHEMA:
                    raise UnknownWriterSchemaError(f"worker {i} met an unknown writer schema")
                if proc.exitcode is not None and not stop.wait(restart_after):
                    log.warning("relay.worker_restart", worker=i, exitcode=proc.exitcode)
                    procs[i] = _start_process(_run_worker, factory, i, workers)
    finally:
        for proc, _ in procs.values():
            proc.terminate()  # SIGTERM: the worker finishes its pass, then exits
        for proc, _ in procs.values():
            proc.join(timeout=150)
            if proc.is_alive():  # stuck (e.g. on a dead connection): its rows are re-sent later
                proc.kill()
                proc.join(timeout=10)


# -- in the child ------------------------------------------------------------------------------


def _drain_worker(factory: RelayFactory, worker: int, workers: int, conn: Connection) -> None:
    try:
        relay = factory(worker, workers)
        relay.warm_up()
        conn.send(("ready", None))
        conn.recv()  # "go", or EOF: the parent gave up
        conn.send(("done", _drain(relay)))
    except EOFError:  # the parent gave up before "go"
        return
    except UnknownWriterSchemaError as exc:
        conn.send(("unknown_schema", str(exc)))
    except BaseException as exc:
        with contextlib.suppress(OSError):
            conn.send(("error", f"{type(exc).__name__}: {exc}"))
        raise


def _drain(relay: Relay) -> tuple[int, dict[str, float]]:
    cpu = process_time()  # this process, every thread (librdkafka's too): for the benchmark
    try:
        published = relay.drain()
    finally:
        relay.close()  # a failed drain must not keep holding the slots' locks
    return published, {**relay.seconds, "cpu": process_time() - cpu}


def _run_worker(factory: RelayFactory, worker: int, workers: int, conn: Connection) -> None:
    relay = factory(worker, workers)
    # The parent holds the other end: EOF means it died (even by kill -9), so stop too rather
    # than relay on as an orphan nobody can stop.
    threading.Thread(target=_stop_on_eof, args=(conn, relay), daemon=True).start()
    try:
        relay.run()
    except UnknownWriterSchemaError:
        raise SystemExit(EXIT_UNKNOWN_SCHEMA) from None


def _stop_on_eof(conn: Connection, relay: Relay) -> None:
    with contextlib.suppress(EOFError, OSError):
        conn.recv()
    relay.stop()


# -- plumbing ----------------------------------------------------------------------------------


def _start_process(
    target: Callable[..., None], factory: RelayFactory, worker: int, workers: int
) -> tuple[Any, Connection]:
    mine, theirs = _spawn.Pipe()
    proc = _spawn.Process(
        target=target, args=(factory, worker, workers, theirs), name=f"relay-{worker}/{workers}"
    )
    proc.start()
    theirs.close()
    return proc, mine


def _expect(conn: Connection, what: str) -> Any:
    try:
        kind, value = conn.recv()
    except EOFError:
        raise RuntimeError("a relay worker died without a word") from None
    if kind == "unknown_schema":
        raise UnknownWriterSchemaError(value)
    if kind != what:
        raise RuntimeError(f"relay worker: {value}")
    return value
