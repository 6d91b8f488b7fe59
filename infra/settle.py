"""Has the system caught up? The outbox is empty and every worker's consumer group has read
everything on its topics, twice in a row with nothing published in between: a reaction still
in flight either holds an uncommitted offset (lag) or a row in the outbox, and its events would
move the end offsets."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable

from sqlalchemy import text

from consumers.flow_reader import watermarks
from consumers.lag import group_lag
from infra.bootstrap import worker_topics
from infra.config.settings import Settings
from infra.db.engine import make_engine


class NotSettled(RuntimeError):
    """The system did not catch up in time (the message says what is behind)."""


def backlog(settings: Settings, names: Iterable[str]) -> dict[str, int]:
    """Rows in the outbox and, per worker, messages its group has not committed."""
    engine = make_engine(settings.database_url)
    try:
        with engine.connect() as conn:
            behind = {"outbox": int(conn.execute(text("SELECT count(*) FROM outbox")).scalar_one())}
    finally:
        engine.dispose()
    topics = settings.topics()
    for name in names:
        lag = group_lag(settings.kafka_bootstrap, topics.group(name), worker_topics(settings, name))
        behind[name] = sum(lag.values())
    return behind


def wait_settled(
    settings: Settings,
    names: Iterable[str],
    *,
    timeout_s: float = 300.0,
    alive: Callable[[], None] = lambda: None,
) -> float:
    """Seconds it took; ``alive`` raises if a process the system needs has died."""
    names = list(names)
    began = time.monotonic()
    quiet_at: list[int] | None = None
    while True:
        alive()
        ends = [tp.offset for tp in watermarks(settings.kafka_bootstrap, settings.topics().events)]
        behind = backlog(settings, names)
        if not any(behind.values()):
            if quiet_at == ends:
                return time.monotonic() - began
            quiet_at = ends
        else:
            quiet_at = None
        if time.monotonic() - began > timeout_s:
            late = ", ".join(f"{k} {v}" for k, v in behind.items() if v)
            raise NotSettled(f"not caught up after {timeout_s:.0f} s: {late or 'still moving'}")
        time.sleep(0.5)
