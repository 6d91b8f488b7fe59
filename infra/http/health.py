"""``/health``: each part the API depends on answers, or the answer is 503 naming the parts
that did not (and why, briefly)."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

Check = Callable[[], None]  # raises when the part does not answer


@dataclass(frozen=True)
class PartStatus:
    name: str
    ok: bool
    detail: str
    millis: float


class HealthChecks:
    def __init__(self, checks: Mapping[str, Check], timeout_s: float = 5.0) -> None:
        self.checks, self.timeout_s = dict(checks), timeout_s

    def run(self) -> list[PartStatus]:
        """All parts at once, so one slow part costs its own timeout, not the sum."""
        if not self.checks:
            return []
        pool = ThreadPoolExecutor(max_workers=len(self.checks))
        futures = {name: pool.submit(_timed, check) for name, check in self.checks.items()}
        statuses = []
        deadline = time.monotonic() + self.timeout_s
        for name, future in futures.items():
            try:
                ok, detail, millis = future.result(timeout=max(0.0, deadline - time.monotonic()))
            except TimeoutError:
                ok, detail, millis = False, f"no answer within {self.timeout_s} s", 0.0
            statuses.append(PartStatus(name, ok, detail, millis))
        pool.shutdown(wait=False)  # a hung part must not hold the answer
        return statuses


def _timed(check: Check) -> tuple[bool, str, float]:
    began = time.perf_counter()
    try:
        check()
    except Exception as exc:  # the failing part is reported, not raised
        return False, f"{type(exc).__name__}: {str(exc)[:200]}", _ms(began)
    return True, "ok", _ms(began)


def _ms(began: float) -> float:
    return round((time.perf_counter() - began) * 1000, 1)
