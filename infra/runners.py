"""Several loops in one process, as one worker: each on a thread, stopped together.

The critical value loop is three (its Kafka consumer, the notifier, the timer worker) that
only make sense together. SIGTERM/SIGINT stop all of them, each finishing what it holds; if
one dies the others are stopped and the error is raised, so ``lis worker`` restarts the process
rather than run a loop with a part missing.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Sequence
from typing import Protocol

import structlog

log = structlog.get_logger(__name__)


class Runner(Protocol):
    def run(self) -> None: ...

    def stop(self) -> None: ...


class Together:
    def __init__(self, name: str, runners: Sequence[Runner]) -> None:
        self.name = name
        self.runners = list(runners)
        self._stop = threading.Event()
        self._errors: list[BaseException] = []

    def run(self) -> None:
        if threading.current_thread() is threading.main_thread():
            for sig in (signal.SIGTERM, signal.SIGINT):
                signal.signal(sig, lambda *_: self.stop())
        threads = [
            threading.Thread(target=self._run, args=(r,), name=f"{self.name}-{i}", daemon=True)
            for i, r in enumerate(self.runners)
        ]
        for thread in threads:
            thread.start()
        self._stop.wait()
        for runner in self.runners:
            runner.stop()
        for thread in threads:
            thread.join(timeout=60)
        if self._errors:
            raise self._errors[0]

    def _run(self, runner: Runner) -> None:
        try:
            runner.run()
        except BaseException as exc:
            log.error("runner.died", worker=self.name, runner=type(runner).__name__, error=str(exc))
            self._errors.append(exc)
        finally:
            self._stop.set()  # one part ended: the whole worker ends

    def stop(self) -> None:
        self._stop.set()
