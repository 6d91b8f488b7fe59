"""The critical value loop on the real stack: Kafka, registry, Postgres, and a real SMTP server
(the stack's own Maildir server, ``infra.stack.maildir_smtpd``, started here on a port and a
Maildir of the test's own so counts belong to one test)."""

from __future__ import annotations

import email
import mailbox
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date
from email.message import Message
from pathlib import Path
from typing import Any

import pytest
import yaml
from sqlalchemy import create_engine, text

from domains.order.commands import ConfirmOrder, PlaceOrder
from domains.patient.commands import RegisterPatient
from domains.result.commands import EnterResult
from domains.sample.commands import CollectSample, ReceiveSample
from domains.shared.bus import MessageBus
from infra.bootstrap import bootstrap, build_criticals, build_relay
from infra.cli.directory import load_file
from infra.config.settings import REPO_ROOT, Settings
from infra.runners import Together
from producers.relay import Relay
from tests.integration.kafka_groups import commit_at_end

ORG = "org-crit"
POTASSIUM = "2823-3"
DIRECTORY: dict[str, Any] = {
    "organization": ORG,
    "providers": [
        {"id": "dr-rao", "name": "Dr. A. Rao", "role": "clinician",
         "email": "a.rao@wards.test.lis", "channels": ["email"]},
        {"id": "sup-menon", "name": "R. Menon", "role": "lab_supervisor",
         "email": "r.menon@lab.test.lis", "channels": ["email"]},
        {"id": "path-pillai", "name": "Dr. M. Pillai", "role": "pathologist",
         "email": "m.pillai@lab.test.lis", "channels": ["email"]},
    ],
    "on_call": [
        {"role": "lab_supervisor", "provider": "sup-menon"},
        {"role": "pathologist", "provider": "path-pillai"},
    ],
}  # fmt: skip
CLINICIAN, SUPERVISOR, PATHOLOGIST = (p["email"] for p in DIRECTORY["providers"])


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class SmtpServer:
    port: int
    maildir: Path
    process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "infra.stack.maildir_smtpd", "--host", "127.0.0.1",
             "--port", str(self.port), "--maildir", str(self.maildir)],
            cwd=REPO_ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        deadline = time.monotonic() + 30
        while True:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                return
            except OSError:
                assert time.monotonic() < deadline, "SMTP server did not start"
                time.sleep(0.1)

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(timeout=30)
            self.process = None

    def messages(self) -> list[Message]:
        if not (self.maildir / "new").is_dir():
            return []
        box = mailbox.Maildir(self.maildir, create=False)
        return [email.message_from_bytes(box.get_bytes(key)) for key in box.iterkeys()]


def body(message: Message) -> str:
    payload = message.get_payload(decode=True)
    assert isinstance(payload, bytes)
    return payload.decode()


def critical_of(message: Message) -> str:
    """The critical value a notification email is about (its reference line)."""
    for line in body(message).splitlines():
        if line.startswith("Reference: critical value "):
            return line.rsplit(" ", 1)[1]
    raise AssertionError("no reference line")


def recipient(message: Message) -> str:
    return str(message["To"]).rsplit("<", 1)[-1].rstrip(">")


@pytest.fixture
def on_stack(stack: Settings, settings: Settings) -> Settings:
    """This test's fresh database on the whole stack (its topics exist)."""
    return settings


@pytest.fixture
def smtp(tmp_path: Path) -> Iterator[SmtpServer]:
    server = SmtpServer(free_port(), tmp_path / "mail")
    server.start()
    yield server
    server.stop()


def critical_settings(
    settings: Settings, tmp_path: Path, smtp_port: int, sla_seconds: float
) -> Settings:
    policy = tmp_path / "policy.yaml"
    policy.write_text(yaml.safe_dump({"default": {"critical_ack_sla_seconds": sla_seconds}}))
    directory = tmp_path / "directory.yaml"
    directory.write_text(yaml.safe_dump(DIRECTORY))
    load_file(directory, settings.database_url)
    return settings.model_copy(
        update={
            "smtp_url": f"smtp://127.0.0.1:{smtp_port}",
            "lab_policy_file": policy,
            "notify_retry_seconds": 0.5,
        }
    )


@pytest.fixture
def running() -> Iterator[Callable[[Any], Any]]:
    """Start runners (relay, the critical loop) on threads; stopped and joined afterwards."""
    started: list[tuple[Any, threading.Thread]] = []

    def start(runner: Any) -> Any:
        thread = threading.Thread(target=runner.run, daemon=True)
        thread.start()
        started.append((runner, thread))
        return runner

    yield start
    for runner, thread in reversed(started):
        runner.stop()
        thread.join(timeout=60)


def group_at_end(settings: Settings) -> str:
    """A consumer group of this test's own, its offsets at the end of the topics the critical
    value loop reads (results, and notifications for the calls that failed)."""
    group = f"{settings.topics().group('criticals')}.{uuid.uuid4().hex[:8]}"
    topics = settings.topics()
    commit_at_end(settings, group, [topics.for_aggregate(a) for a in ("Result", "Notification")])
    return group


def start_loop(
    settings: Settings, running: Callable[[Any], Any], group: str | None = None
) -> tuple[MessageBus, Together, Relay]:
    relay = running(build_relay(settings, 500))
    overrides: dict[str, Any] = {"group.id": group or group_at_end(settings)}
    loop = running(build_criticals(settings, **overrides))
    return bootstrap(settings), loop, relay


def critical_result(
    bus: MessageBus, *, provider: str | None = "dr-rao", n: int = 0, value: str = "7.1"
) -> dict[str, Any]:
    """A patient, a confirmed STAT order, a received serum sample and a critical potassium."""
    patient = bus.handle(
        RegisterPatient(
            organization_id=ORG, user_id="desk", family_name="Iyer", given_name="Kavya",
            date_of_birth=date(1980, 1, 2), sex="female", allow_duplicate=True,
        )
    )["patient_id"]  # fmt: skip
    order = bus.handle(
        PlaceOrder(
            organization_id=ORG, user_id="desk", patient_id=patient, loinc_codes=[POTASSIUM],
            placer_order_number=f"HIS-C-{n}-{time.monotonic_ns()}", priority="stat",
            ordering_clinician_name="Dr. A. Rao", ordering_provider_id=provider,
        )
    )["order_id"]  # fmt: skip
    bus.handle(ConfirmOrder(organization_id=ORG, user_id="desk", order_id=order))
    sample = bus.handle(
        CollectSample(organization_id=ORG, user_id="phleb", order_id=order, specimen_type="serum")
    )["sample_id"]
    bus.handle(ReceiveSample(organization_id=ORG, user_id="tech", sample_id=sample))
    enter = EnterResult(
        organization_id=ORG, user_id="tech", sample_id=sample, loinc_code=POTASSIUM,
        value_text=value, unit="mmol/L",
    )  # fmt: skip
    outcome = bus.handle(enter)
    return {**outcome, "correlation_id": enter.correlation_id, "order_id": order}


def wait_for(check: Callable[[], Any], seconds: float = 60, what: str = "") -> Any:
    deadline = time.monotonic() + seconds
    while not (found := check()):
        assert time.monotonic() < deadline, f"timed out waiting for {what or check}"
        time.sleep(0.1)
    return found


def rows(database_url: str, sql: str, **params: Any) -> list[Any]:
    engine = create_engine(database_url)
    try:
        with engine.connect() as conn:
            return list(conn.execute(text(sql), params).all())
    finally:
        engine.dispose()
