"""What every stack service shares: errors, paths under ``stack_home``, the service shape."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol
from urllib.parse import urlsplit

from infra.config.settings import REPO_ROOT

STACK_DIR = REPO_ROOT / "infra" / "stack"


class StackError(RuntimeError):
    """A service could not be prepared, started or reached; the message says which and why."""


@dataclass(frozen=True)
class StackPaths:
    """Layout of ``stack_home``: downloads and binaries, data, pid files, and all logs."""

    home: Path

    @property
    def logs(self) -> Path:
        return self.home / "logs"

    @property
    def run(self) -> Path:
        return self.home / "run"

    @property
    def data(self) -> Path:
        return self.home / "data"

    def ensure(self) -> None:
        for folder in (self.home, self.logs, self.run, self.data):
            folder.mkdir(parents=True, exist_ok=True)


class Service(Protocol):
    """One service of the local stack. ``start`` may return before it answers; ``up`` waits."""

    name: str
    startup_timeout: float

    @property
    def address(self) -> str: ...

    @property
    def log_file(self) -> Path: ...

    def healthy(self) -> bool: ...

    def process_alive(self) -> bool: ...

    def version(self) -> str | None: ...

    def start(self) -> None: ...

    def stop(self) -> bool: ...


def wait_until(service: Service, timeout: float | None = None, *, interval: float = 1.0) -> float:
    """Poll ``service.healthy()`` until it answers; returns seconds waited, else StackError."""
    limit = service.startup_timeout if timeout is None else timeout
    started = time.monotonic()
    gone = 0
    while True:
        if service.healthy():
            return time.monotonic() - started
        # Fail fast when the process died (bad config, wrong Java...) instead of waiting out
        # the timeout; two misses in a row, so a daemon still writing its pid file is spared.
        gone = 0 if service.process_alive() else gone + 1
        if gone >= 2 and time.monotonic() - started > 3:
            raise StackError(
                f"{service.name} exited while starting; see its log: {service.log_file}"
            )
        if time.monotonic() - started > limit:
            raise StackError(
                f"{service.name} did not answer on {service.address} within {limit:.0f}s; "
                f"see its log: {service.log_file}"
            )
        time.sleep(interval)


def host_port(address: str, default_port: int) -> tuple[str, int]:
    """Split ``host:port`` or a URL into host and port."""
    parts = urlsplit(address if "//" in address else f"//{address}")
    return parts.hostname or "127.0.0.1", parts.port or default_port


def quietly(check: Callable[[], object]) -> bool:
    """Run a health probe; any exception counts as "not healthy"."""
    try:
        check()
    except Exception:  # a probe failing in any way just means "not answering yet"
        return False
    return True
