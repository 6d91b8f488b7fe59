"""Bring the five services up or down in dependency order, under one lock."""

from __future__ import annotations

import fcntl
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from infra.config.settings import Settings
from infra.stack.common import Service, StackPaths, wait_until
from infra.stack.kafka_broker import Kafka
from infra.stack.postgres import Postgres
from infra.stack.redis_server import Redis
from infra.stack.schema_registry import SchemaRegistry
from infra.stack.smtp_server import SmtpServer

Report = Callable[[str], None]


def all_services(settings: Settings) -> list[Service]:
    """Start order: the registry stores its schemas in Postgres, so Postgres comes first."""
    paths = StackPaths(settings.stack_home)
    return [
        Postgres(settings, paths),
        Redis(settings, paths),
        Kafka(settings, paths),
        SchemaRegistry(settings, paths),
        SmtpServer(settings, paths),
    ]


@contextmanager
def stack_lock(paths: StackPaths) -> Iterator[None]:
    """One `up`/`down` at a time: test sessions of several engineers may race on a cold stack."""
    paths.ensure()
    with (paths.run / "stack.lock").open("w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def up(settings: Settings, report: Report) -> None:
    """Start what does not answer and wait until everything does. Healthy services are left
    alone, so a second `up` is quick; stale pid files from a kill -9 are cleared by start()."""
    services = all_services(settings)
    with stack_lock(StackPaths(settings.stack_home)):
        began = time.monotonic()
        postgres, *others = services
        # Postgres always runs its idempotent provisioning and migrations (cheap when done).
        _timed(report, postgres, postgres.start)
        launched: dict[str, float] = {}
        for service in others:
            if service.healthy():
                report(f"{service.name:<9} already up on {service.address}")
                continue
            # Kafka and the registry are JVMs that take a while: launch both, then wait.
            launched[service.name] = time.monotonic()
            service.start()
            report(f"{service.name:<9} starting (log: {service.log_file})")
        for service in others:
            if service.name in launched:
                wait_until(service)
                # Launches overlap, so the time is since this `up` began, not per service.
                report(
                    f"{service.name:<9} up on {service.address} "
                    f"(ready at +{time.monotonic() - began:.1f}s)"
                )


def _timed(report: Report, service: Service, action: Callable[[], None]) -> None:
    started = time.monotonic()
    action()
    wait_until(service)
    report(f"{service.name:<9} up on {service.address} ({time.monotonic() - started:.1f}s)")


def down(settings: Settings, report: Report) -> None:
    """Stop, in reverse order, what `up` started (graceful, then kill)."""
    with stack_lock(StackPaths(settings.stack_home)):
        for service in reversed(all_services(settings)):
            stopped = service.stop()
            report(f"{service.name:<9} {'stopped' if stopped else 'not started by lis stack'}")
