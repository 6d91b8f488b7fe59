"""The outbox relay: publishes committed outbox rows to Kafka, then deletes them.

Which rows, in which order, and why that is commit-order safe: ``producers.outbox_reader``.
Rows are deleted only after Kafka acknowledged every message of their batch, so a crash
anywhere re-sends: at least once, and duplicates are identical copies. Per aggregate, rows go
out in id order on one partition (key = aggregate id) through an idempotent producer, from the
one worker that holds the aggregate's slot. Each row is framed with the registry id of the
schema it was WRITTEN with (``schema_ids``: ``producers.writer_schemas``).

A ``Relay`` is one worker: one producer, one reading connection, the slots ``s % workers ==
worker``. ``producers.relay_workers`` runs several as processes (``lis relay --workers N``).
While Kafka takes batch k, batches k+1 and k+2 are being read; deletes run in a thread.
"""

from __future__ import annotations

import signal
import threading
from collections import deque
from concurrent.futures import Future, ThreadPoolExecutor
from time import perf_counter
from typing import Any

import structlog
from sqlalchemy.engine import make_url

from producers.outbox_reader import OutboxReader, Row, wanted_slots
from producers.relay_kafka import DeliveryFailedError, RelayProducer, SchemaIdLookup
from producers.relay_wait import Waiter
from schemas.fingerprints import UnknownWriterSchemaError

__all__ = ["DeliveryFailedError", "Relay", "SchemaIdLookup", "libpq_url"]

log = structlog.get_logger(__name__)


class Relay:
    def __init__(
        self,
        database_url: str,
        producer_config: dict[str, Any],
        schema_ids: SchemaIdLookup,
        *,
        batch_size: int = 5000,
        ack_every: int = 50_000,
        poll_interval: float = 0.5,
        flush_timeout: float = 130.0,
        listen: bool = True,
        worker: int = 0,
        workers: int = 1,
    ) -> None:
        conninfo = libpq_url(database_url)
        self._reader = OutboxReader(conninfo, wanted_slots(worker, workers))
        self._waiter = Waiter(conninfo, poll_interval, listen)
        self.batch_size = batch_size
        self.ack_every = ack_every  # rows: a crash re-sends at most this many (plus a batch)
        self._stop = threading.Event()
        self._pools: dict[str, ThreadPoolExecutor] = {}
        self.name = f"relay-{worker}/{workers}"
        self.published = 0
        # Where the time goes, summed over the relay's life (for `lis bench` and the logs).
        self.seconds = dict.fromkeys(("fetch", "produce", "flush", "delete_wait"), 0.0)
        # No I/O yet: the producer is built on first use.
        self._kafka = RelayProducer(producer_config, schema_ids, flush_timeout, self.seconds)

    # -- one pass ----------------------------------------------------------------------------

    def run_once(self) -> int:
        """Publish every row committed before the oldest running transaction (of the slots this
        worker holds); returns the count."""
        reader = self._reader
        if not reader.claim():
            log.info("relay.standby", relay=self.name, reason="other relays hold every slot")
            return 0
        xmin = reader.xmin()
        bounds = reader.bounds(xmin)
        if bounds is None:
            return 0
        # Batches are id ranges of ``batch_size``, read two ahead on two connections while
        # this thread hands the current one to Kafka; consumed strictly in id order.
        ranges = enumerate(range(bounds[0], bounds[1] + 1, self.batch_size))
        fetches: deque[Future[list[Row]]] = deque()
        pending: list[Future[None]] = []
        total = unacked = first = last = 0  # first/last: ids produced since the last ack

        def prefetch() -> None:
            # Range k reads on connection k % 2: the one range k - 2 used, done by now.
            if (k_lo := next(ranges, None)) is not None:
                k, lo = k_lo
                fetches.append(self._pool("relay-fetch", 2).submit(self._fetch, xmin, lo, k % 2))

        def acknowledge() -> None:
            nonlocal total, unacked, first
            self._kafka.await_acks(unacked)
            pending.append(self._pool("relay-delete").submit(reader.delete, xmin, first, last))
            total, unacked, first = total + unacked, 0, 0

        try:
            prefetch()
            prefetch()
            while fetches:
                rows = fetches.popleft().result()
                prefetch()
                if not rows:
                    continue
                self._kafka.produce(rows)
                first, last, unacked = first or rows[0][0], rows[-1][0], unacked + len(rows)
                # Acks every ``ack_every`` rows, not every batch: a flush idles for the slowest
                # partition's round trip (~30-40 ms measured), so once per window, not per batch.
                if unacked >= self.ack_every:
                    acknowledge()
                if self._stop.is_set():  # SIGTERM: settle what was sent, leave the rest
                    break
            if unacked:
                acknowledge()
        finally:
            started = perf_counter()
            for fetch in fetches:  # connections must be idle before anyone reuses them
                fetch.exception()
            for future in pending:  # acknowledged batches: delete them even if a later one failed
                future.result()
            self.seconds["delete_wait"] += perf_counter() - started
        self.published += total
        return total

    def warm_up(self) -> None:
        """Connect, claim slots and meet the Kafka cluster now rather than in the first pass."""
        self._reader.claim()
        self._kafka.warm_up()

    def drain(self) -> int:
        """Publish until no committed row is left (``lis relay --once``)."""
        total = 0
        while not self._stop.is_set() and (n := self.run_once()):
            total += n
        return total

    def _fetch(self, xmin: int, lo: int, lane: int) -> list[Row]:
        started = perf_counter()
        rows = self._reader.fetch(xmin, lo, lo + self.batch_size, lane)
        self.seconds["fetch"] += perf_counter() - started
        return rows

    # -- the loop ----------------------------------------------------------------------------

    def run(self) -> None:
        """Relay until SIGTERM/SIGINT or ``stop()``; a pass in flight is finished first.

        Raises ``UnknownWriterSchemaError``: a row no registered schema matches stops the relay
        rather than go out with a wrong frame (or hold up its aggregate's later rows forever).
        """
        if threading.current_thread() is threading.main_thread():
            for sig in (signal.SIGTERM, signal.SIGINT):
                signal.signal(sig, lambda *_: self.stop())
        log.info("relay.started", relay=self.name, batch_size=self.batch_size)
        backoff = self._waiter.poll_interval
        try:
            while not self._stop.is_set():
                try:
                    n = self.run_once()
                    backoff = self._waiter.poll_interval
                except UnknownWriterSchemaError as exc:
                    log.error("relay.unknown_writer_schema", relay=self.name, error=str(exc))
                    raise
                except Exception as exc:
                    # Whatever else failed (Postgres, Kafka, the registry), unacknowledged rows
                    # are still in the outbox: a daemon backs off and tries again, not die.
                    log.warning("relay.retry", error=str(exc), error_type=type(exc).__name__)
                    self._reader.close()
                    self._stop.wait(backoff)
                    backoff = min(backoff * 2, 30.0)
                    continue
                if n:
                    log.info("relay.published", relay=self.name, count=n, total=self.published)
                else:
                    self._waiter.wait(self._stop)
        finally:
            self.close()
            log.info("relay.stopped", relay=self.name, published=self.published)

    def stop(self) -> None:
        self._stop.set()

    def close(self) -> None:
        self._kafka.close()
        for pool in self._pools.values():
            pool.shutdown(wait=True)
        self._pools.clear()
        self._reader.close()
        self._waiter.close()

    def _pool(self, name: str, threads: int = 1) -> ThreadPoolExecutor:
        """A thread per stage (deletes stay in order), two for fetching (one per connection)."""
        if name not in self._pools:
            self._pools[name] = ThreadPoolExecutor(threads, thread_name_prefix=name)
        return self._pools[name]


def libpq_url(database_url: str) -> str:
    """psycopg wants a libpq URL: the settings' one without SQLAlchemy's ``+psycopg`` part."""
    return make_url(database_url).set(drivername="postgresql").render_as_string(hide_password=False)
