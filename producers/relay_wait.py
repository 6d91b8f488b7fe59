"""The relay's idle wait: a poll interval that a NOTIFY from an outbox insert cuts short.

NOTIFY is only a wake-up (migration 0003): polling alone is correct, so a listener that fails
is dropped and the relay just sleeps until the next poll.
"""

from __future__ import annotations

import contextlib
import threading
from time import perf_counter
from typing import Any

import psycopg

from producers.outbox_reader import CONNECT_OPTIONS


class Waiter:
    def __init__(self, conninfo: str, poll_interval: float, listen: bool) -> None:
        self._conninfo = conninfo
        self.poll_interval = poll_interval
        self._listen = listen
        self._listener: psycopg.Connection[Any] | None = None

    def wait(self, stop: threading.Event) -> None:
        """Sleep up to one poll interval, less if an outbox insert commits or ``stop`` is set."""
        if not self._listen:
            stop.wait(self.poll_interval)
            return
        try:
            if self._listener is None or self._listener.closed:
                self._listener = psycopg.connect(self._conninfo, **CONNECT_OPTIONS)
                self._listener.execute("LISTEN outbox")
            deadline = perf_counter() + self.poll_interval
            # In short slices, so stop() (a signal) is seen within a second.
            while not stop.is_set() and (left := deadline - perf_counter()) > 0:
                for _ in self._listener.notifies(timeout=min(left, 1.0), stop_after=1):
                    return
        except psycopg.Error:
            self.close()
            stop.wait(self.poll_interval)

    def close(self) -> None:
        if self._listener is not None:
            with contextlib.suppress(psycopg.Error):
                self._listener.close()
        self._listener = None
