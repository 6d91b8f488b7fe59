"""``/metrics``: Prometheus text (prometheus-client), one registry per app.

Requests are counted and timed by route template (``/api/v1/samples/{sample_id}/receive``,
never the id: bounded label sets) and status. Gauges and histograms about the rest of the
system (outbox backlog, consumer lag per processor group, critical-value timings) are read when
scraped, from sources the composition root passes in, so they cost nothing between scrapes.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from typing import TypeVar

import structlog
from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily, HistogramMetricFamily, Metric
from prometheus_client.registry import Collector

T = TypeVar("T")
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
LATENCY_BUCKETS = (0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5)
# critical values: seconds from detection, up to the hours an escalation may take
CRITICAL_BUCKETS = (60.0, 300.0, 600.0, 900.0, 1800.0, 3600.0, 7200.0, 14400.0)
log = structlog.get_logger(__name__)


class SystemSources:
    """What the scrape reads besides the API's own counters; each may fail on its own."""

    def outbox_backlog(self) -> int | None:
        return None

    def consumer_lag(self) -> dict[str, int]:
        return {}

    def critical_timings(self) -> tuple[list[float], list[float]]:
        """(detection->notification seconds, detection->acknowledgement seconds)."""
        return [], []


class ApiMetrics:
    def __init__(self, sources: SystemSources | None = None) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.requests = Counter(
            "lis_http_requests",
            "HTTP requests by route template, method and status",
            ("method", "route", "status"),
            registry=self.registry,
        )
        self.latency = Histogram(
            "lis_http_request_duration_seconds",
            "HTTP request latency by route template and method",
            ("method", "route"),
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.commands = Counter(
            "lis_api_commands",
            "Commands handled through the API",
            ("command",),
            registry=self.registry,
        )
        self.registry.register(_SystemCollector(sources or SystemSources()))

    def observe(self, method: str, route: str, status: int, seconds: float) -> None:
        self.requests.labels(method, route, str(status)).inc()
        self.latency.labels(method, route).observe(seconds)

    def command_handled(self, command: str) -> None:
        self.commands.labels(command).inc()

    def exposition(self) -> bytes:
        return generate_latest(self.registry)

    def request_count(self) -> int:
        """All requests served so far (the demo summary)."""
        return int(
            sum(
                s.value
                for m in self.requests.collect()
                for s in m.samples
                if s.name.endswith("_total")
            )
        )


class _SystemCollector(Collector):
    def __init__(self, sources: SystemSources) -> None:
        self.sources = sources

    def collect(self) -> Iterator[Metric]:
        backlog = _safely(self.sources.outbox_backlog, None)
        if backlog is not None:
            yield GaugeMetricFamily("lis_outbox_backlog", "Outbox rows not yet on Kafka", backlog)
        lag = GaugeMetricFamily(
            "lis_consumer_lag", "Events not yet processed, per processor group", labels=["group"]
        )
        no_lag: dict[str, int] = {}
        for group, value in sorted(_safely(self.sources.consumer_lag, no_lag).items()):
            lag.add_metric([group], value)
        yield lag
        nothing: tuple[list[float], list[float]] = ([], [])
        notified, acknowledged = _safely(self.sources.critical_timings, nothing)
        yield _histogram(
            "lis_critical_detection_to_notification_seconds",
            "Critical values: detection to the first notification sent",
            notified,
        )
        yield _histogram(
            "lis_critical_detection_to_acknowledgement_seconds",
            "Critical values: detection to the read-back acknowledgement",
            acknowledged,
        )


def _histogram(name: str, doc: str, values: Sequence[float]) -> HistogramMetricFamily:
    buckets: list[tuple[str, float]] = []
    for bound in (*CRITICAL_BUCKETS, float("inf")):
        label = "+Inf" if bound == float("inf") else repr(bound)
        buckets.append((label, float(sum(1 for v in values if v <= bound))))
    return HistogramMetricFamily(name, doc, buckets=buckets, sum_value=float(sum(values)))


def _safely(read: Callable[[], T], fallback: T) -> T:
    # A scrape must not fail because Kafka is slow: that part is simply missing this time.
    try:
        return read()
    except Exception as exc:  # any source failure
        log.warning("metrics.source_failed", source=read.__name__, error=type(exc).__name__)
        return fallback
