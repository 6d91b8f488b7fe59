"""The replay's progress bar (rich, on stderr): messages read of those planned, and the rate."""

from __future__ import annotations

import time
from types import TracebackType

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

from consumers.replay import PartitionRange


class ReplayProgress:
    def __init__(self, *, enabled: bool = True) -> None:
        self._progress = Progress(
            TextColumn("replay"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.fields[rate]:>12} msg/s"),
            TimeElapsedColumn(),
            TimeRemainingColumn(),
            console=Console(stderr=True),
            disable=not enabled,
            transient=False,
        )
        self._task: TaskID | None = None
        self._read = 0
        self._began = time.monotonic()
        self._last_refresh = 0.0

    def __enter__(self) -> ReplayProgress:
        self._progress.start()
        self._began = time.monotonic()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._refresh(force=True)
        self._progress.stop()

    def planned(self, ranges: list[PartitionRange]) -> None:
        total = sum(r.size for r in ranges)
        self._task = self._progress.add_task("replay", total=total, rate="-")

    def advance(self, n: int) -> None:
        self._read += n
        self._refresh()

    def _refresh(self, *, force: bool = False) -> None:
        now = time.monotonic()
        if self._task is None or (not force and now - self._last_refresh < 0.2):
            return  # rich redraws ~10 times a second anyway; updating per message costs
        self._last_refresh = now
        rate = self._read / max(now - self._began, 1e-9)
        self._progress.update(self._task, completed=self._read, rate=f"{rate:,.0f}")

    def summary(self, written: int) -> str:
        seconds = time.monotonic() - self._began
        return (
            f"{self._read} messages read, {written} events written in {seconds:.1f} s "
            f"({self._read / max(seconds, 1e-9):,.0f} messages/s)"
        )
