"""docs/subscribing.md's two examples, run as a downstream team would, against a simulated day:
each prints the day's events per event type, and the counts are the day's."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections import Counter
from collections.abc import Iterator

import pytest

from infra.config.settings import REPO_ROOT, Settings
from tests.integration.lab_day import PublishedDay, lab_day

pytestmark = pytest.mark.integration

EXAMPLES = REPO_ROOT / "docs" / "examples"


@pytest.fixture(scope="module")
def day(stack: Settings, module_database_url: str) -> Iterator[PublishedDay]:
    with lab_day(stack, module_database_url, patients=3, seed=5) as day:
        yield day


def _expected(day: PublishedDay) -> dict[str, int]:
    first = {e.metadata["event_id"]: e.metadata["event_type"] for e in day.events}
    counts = Counter(first.values())
    return {**counts, "total": sum(counts.values())}


def _printed(stdout: str) -> dict[str, int]:
    rows = [line.split() for line in stdout.splitlines() if line.strip()]
    return {name: int(n) for name, n in rows}


def _args(day: PublishedDay) -> list[str]:
    s = day.settings
    return [
        "--bootstrap", s.kafka_bootstrap,
        "--registry", s.schema_registry_url,
        "--topics", ",".join(s.topics().events),
    ]  # fmt: skip


def test_the_python_example_counts_a_simulated_day_per_event_type(day: PublishedDay) -> None:
    group = f"{day.settings.topic_namespace}.example-python"
    done = subprocess.run(
        [sys.executable, str(EXAMPLES / "python" / "count_day.py"), *_args(day), "--group", group],
        capture_output=True, text=True, timeout=300, check=False,
        env={k: v for k, v in os.environ.items() if not k.startswith("LIS_")},  # nothing of ours
    )  # fmt: skip

    assert done.returncode == 0, done.stderr
    assert _printed(done.stdout) == _expected(day)
    assert _expected(day)["total"] == day.published > 50


@pytest.mark.skipif(
    shutil.which("java") is None or shutil.which("mvn") is None,
    reason="the Java example needs java and mvn on PATH (make setup installs both)",
)
def test_the_java_example_counts_a_simulated_day_per_event_type(day: PublishedDay) -> None:
    done = subprocess.run(
        [str(EXAMPLES / "java" / "run.sh"), *_args(day)],
        capture_output=True, text=True, timeout=900, check=False,  # a first build fetches jars
    )  # fmt: skip

    assert done.returncode == 0, done.stdout + done.stderr
    assert _printed(done.stdout) == _expected(day)
