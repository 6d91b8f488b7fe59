"""`lis stack status` as a person runs it: the installed entry point, in its own process."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from sqlalchemy.engine import make_url

from infra.config.settings import Settings

pytestmark = pytest.mark.integration

# name, version (digits and dots), address, health, log file: one line per service.
_LINE = re.compile(
    r"^(?P<name>\S+)\s+(?P<version>\d+(?:\.\d+)+)\s+(?P<address>\S+)\s+(?P<health>\S+)\s+\S+$"
)


def lis_executable() -> str:
    # The venv's own `lis` (next to this interpreter) when PATH does not have one.
    return shutil.which("lis") or str(Path(sys.executable).with_name("lis"))


def test_status_reports_each_service_healthy_with_version_and_address(stack: Settings) -> None:
    done = subprocess.run(
        [lis_executable(), "stack", "status"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env={**os.environ, "NO_COLOR": "1"},
    )

    assert done.returncode == 0, done.stdout + done.stderr
    lines = [line for line in done.stdout.splitlines() if line.strip()]
    # one line per service; indented lines are details (the SMTP server's Maildir)
    parsed = [_LINE.match(line) for line in lines if not line.startswith(" ")]
    assert all(parsed), f"unexpected status lines:\n{done.stdout}"
    rows = {m["name"]: m for m in parsed if m is not None}
    assert list(rows) == ["postgres", "redis", "kafka", "registry", "smtp"]
    assert {m["health"] for m in rows.values()} == {"healthy"}
    db, redis = make_url(stack.database_url), urlsplit(stack.redis_url)
    assert rows["postgres"]["address"] == f"{db.host}:{db.port}"
    assert rows["redis"]["address"] == f"{redis.hostname}:{redis.port}"
    assert rows["kafka"]["address"] == stack.kafka_bootstrap
    assert rows["registry"]["address"] == stack.schema_registry_url
    assert rows["smtp"]["address"] == urlsplit(stack.smtp_url).netloc
    maildir = stack.stack_home / "data" / "mail"
    details = [line.split() for line in lines if line.startswith(" ")]
    assert ["maildir", str(maildir)] in [d[:2] for d in details], done.stdout
