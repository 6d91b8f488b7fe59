"""/health names each failing part (a hung one within the timeout); /metrics survives a failing
source and labels requests by route template."""

from __future__ import annotations

import threading
import time

from infra.http.health import HealthChecks
from infra.http.metrics import ApiMetrics, SystemSources


def test_health_reports_each_part_and_why_a_failing_one_failed() -> None:
    release = threading.Event()

    def broken() -> None:
        raise ConnectionRefusedError("connection refused")

    checks = HealthChecks(
        {"database": lambda: None, "broker": broken, "redis": lambda: release.wait(5) and None},
        timeout_s=0.5,
    )
    began = time.monotonic()
    parts = {p.name: p for p in checks.run()}
    release.set()
    assert time.monotonic() - began < 2  # a hung part costs its timeout, not more
    assert parts["database"].ok
    assert not parts["broker"].ok
    assert "ConnectionRefusedError" in parts["broker"].detail
    assert not parts["redis"].ok
    assert "no answer" in parts["redis"].detail


class BrokenSources(SystemSources):
    def outbox_backlog(self) -> int | None:
        raise TimeoutError("database slow")

    def consumer_lag(self) -> dict[str, int]:
        return {"routing": 7}

    def critical_timings(self) -> tuple[list[float], list[float]]:
        return [30.0, 400.0], [900.0]


def test_a_failing_source_leaves_the_rest_of_the_scrape() -> None:
    metrics = ApiMetrics(BrokenSources())
    metrics.observe("POST", "/api/v1/samples/{sample_id}/receive", 200, 0.004)
    text = metrics.exposition().decode()
    assert "lis_outbox_backlog" not in text
    assert 'lis_consumer_lag{group="routing"} 7.0' in text
    assert 'route="/api/v1/samples/{sample_id}/receive"' in text
    assert 'lis_critical_detection_to_notification_seconds_bucket{le="60.0"} 1.0' in text
    assert "lis_critical_detection_to_acknowledgement_seconds_count 1.0" in text
    assert metrics.request_count() == 1
