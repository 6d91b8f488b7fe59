"""`lis bench critical`: the critical value loop's latency, result committed -> email in the
Maildir, beside a raw SMTP send into the same Maildir server in the same run.

Production shapes throughout: a fresh database, the relay (`lis relay`) and the critical worker
(`lis worker criticals`' loop: consumer, notifier, timers) each in a process of their own, the
stack's SMTP server code (`infra.stack.maildir_smtpd`) on a port and Maildir of the bench's
own. Patients, orders and received samples are made first (not timed); then each critical
potassium is entered through the bus, paced at ``rate`` per second, and its latency is the
time from EnterResult's commit (the bus call returned) to the modification time of its email's
file in the Maildir. The stages come from the rows: the consumer's transaction start
(delivery created) and the outcome commit (sent_at).
"""

from __future__ import annotations

import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import yaml
from confluent_kafka import Consumer, TopicPartition
from sqlalchemy import create_engine, text

from consumers.flow_reader import watermarks
from domains.notification.ports import OutgoingMessage
from domains.order.commands import ConfirmOrder, PlaceOrder
from domains.patient.commands import RegisterPatient
from domains.result.commands import EnterResult
from domains.sample.commands import CollectSample, ReceiveSample
from domains.shared.bus import MessageBus
from infra.config.settings import REPO_ROOT, Settings
from infra.db.migrate import scratch_database
from infra.notify.smtp import SmtpChannel
from producers.topics import ensure_topics

ORG = "org-bench"
POTASSIUM = "2823-3"
DIRECTORY = {
    "organization": ORG,
    "providers": [{"id": "dr-bench", "name": "Dr. Bench", "role": "clinician",
                   "email": "dr.bench@wards.lis.local", "channels": ["email"]}],
}  # fmt: skip


def percentiles(values: list[float]) -> dict[str, float]:
    ordered = sorted(values)
    q = statistics.quantiles(ordered, n=100, method="inclusive")
    return {"p50": q[49], "p95": q[94], "p99": q[98], "max": ordered[-1]}


def _ms(p: dict[str, float]) -> str:
    return "  ".join(f"{k} {v * 1000:7.1f} ms" for k, v in p.items())


@dataclass
class CriticalBench:
    criticals: int
    rate: float
    latency: list[float] = field(default_factory=list)  # commit -> email file, seconds
    to_kafka: list[float] = field(default_factory=list)  # commit -> produced (relay)
    to_consumer: list[float] = field(default_factory=list)  # produced -> consumer txn start
    to_sent: list[float] = field(default_factory=list)  # consumer txn start -> outcome commit
    raw_smtp: list[float] = field(default_factory=list)  # raw send start -> email file
    cpu_s: dict[str, float] = field(default_factory=dict)  # per process, start to stop
    load: tuple[float, float, float] = (0.0, 0.0, 0.0)  # the machine's, at the end

    def summary(self) -> str:
        p99 = percentiles(self.latency)["p99"]
        return "\n".join(
            [
                f"{self.criticals} critical values entered at {self.rate:g}/s; "
                f"result committed -> email in the Maildir:",
                f"  critical loop   {_ms(percentiles(self.latency))}",
                f"    commit -> on Kafka (outbox, relay):          "
                f"{_ms(percentiles(self.to_kafka))}",
                f"    on Kafka -> consumer transaction begins:     "
                f"{_ms(percentiles(self.to_consumer))}",
                f"    consumer -> sent (intent, notifier, SMTP):   "
                f"{_ms(percentiles(self.to_sent))}",
                f"  raw SMTP send   {_ms(percentiles(self.raw_smtp))}  (same server, same size)",
                f"target p99 <= 500 ms: {'met' if p99 <= 0.5 else 'MISSED'} "
                f"(p99 {p99 * 1000:.0f} ms)",
                "CPU seconds (whole run, incl. start-up): "
                + ", ".join(f"{name} {cpu:.1f}" for name, cpu in self.cpu_s.items())
                + f"; load average {self.load[0]:.1f} on {os.cpu_count()} cores",
            ]
        )


def run_bench(settings: Settings, *, criticals: int, rate: float) -> CriticalBench:
    with scratch_database(settings.database_url, "lis_bench_critical") as database_url:
        return _run(settings, database_url, criticals=criticals, rate=rate)


def _run(settings: Settings, database_url: str, *, criticals: int, rate: float) -> CriticalBench:
    work = Path(tempfile.mkdtemp(prefix="lis-bench-critical-"))
    processes: dict[str, subprocess.Popen[bytes]] = {}
    result = CriticalBench(criticals, rate)
    try:
        port = _free_port()
        maildir = work / "mail"
        processes["smtp"] = _spawn(work, "smtp", "-m", "infra.stack.maildir_smtpd", "--port",
                                   str(port), "--maildir", str(maildir))  # fmt: skip
        _wait_for_port(port)
        bench = _settings(settings, work, database_url, port)
        ensure_topics(bench.kafka_bootstrap, bench.topics())
        from infra.bootstrap import bootstrap
        from infra.cli.directory import load_file

        (work / "directory.yaml").write_text(yaml.safe_dump(DIRECTORY))
        load_file(work / "directory.yaml", database_url)
        bus = bootstrap(bench)
        samples = [_received_sample(bus, n) for n in range(criticals + 5)]
        env = _env(bench)
        lis = str(Path(sys.executable).with_name("lis"))
        processes["relay"] = _spawn(work, "relay", lis, "relay", env=env, python=False)
        overrides = json.dumps({"group.id": _group_at_end(bench)})
        processes["critical worker"] = _spawn(
            work, "worker", "-m", "infra.bench.critical", "worker", overrides, env=env
        )
        for sample in samples[:5]:  # warm-up: the worker has joined and everything is hot
            _enter(bus, sample)
        _wait_for_mail(maildir, 5, timeout=120)
        committed: dict[str, float] = {}
        flows: dict[str, str] = {}  # critical id -> correlation id
        start = watermarks(bench.kafka_bootstrap, [bench.topics().for_aggregate("Result")])
        for sample in samples[5:]:
            started = time.monotonic()
            critical_id, at, correlation_id = _enter(bus, sample)
            committed[critical_id], flows[critical_id] = at, correlation_id
            time.sleep(max(0.0, 1 / rate - (time.monotonic() - started)))
        arrived = _wait_for_mail(maildir, criticals + 5, timeout=300)
        result.latency = [arrived[c] - t for c, t in committed.items()]
        stages = _stages(database_url, list(committed))
        produced = _produced(bench, start, set(flows.values()))
        result.to_kafka = [produced[flows[c]] - committed[c] for c in committed]
        result.to_consumer = [stages[c][0] - produced[flows[c]] for c in committed]
        result.to_sent = [stages[c][1] - stages[c][0] for c in committed]
        result.raw_smtp = _raw_smtp(port, maildir, criticals)
        return result
    finally:
        result.load = os.getloadavg()
        for name, process in reversed(processes.items()):
            process.terminate()
            # wait4: the process's CPU time, with that of its children (the relay's workers)
            _, _, usage = os.wait4(process.pid, 0)
            process.returncode = 0
            result.cpu_s[name] = usage.ru_utime + usage.ru_stime


def _settings(settings: Settings, work: Path, database_url: str, port: int) -> Settings:
    policy = work / "policy.yaml"  # an hour: no escalation inside the bench
    policy.write_text(yaml.safe_dump({"default": {"critical_ack_sla_seconds": 3600}}))
    # topics of its own (``<namespace>-bench``): its hundreds of criticals must not become a
    # backlog for the namespace's real critical worker (and its demo) to call about
    return settings.model_copy(
        update={"database_url": database_url, "smtp_url": f"smtp://127.0.0.1:{port}",
                "lab_policy_file": policy, "log_level": "WARNING",
                "topic_namespace": f"{settings.topic_namespace}-bench"}
    )  # fmt: skip


def _env(settings: Settings) -> dict[str, str]:
    return {
        **os.environ,
        "LIS_DATABASE_URL": settings.database_url,
        "LIS_SMTP_URL": settings.smtp_url,
        "LIS_LAB_POLICY_FILE": str(settings.lab_policy_file),
        "LIS_TOPIC_NAMESPACE": settings.topic_namespace,
        "LIS_LOG_LEVEL": "WARNING",
    }


def _spawn(
    work: Path, name: str, *args: str, env: dict[str, str] | None = None, python: bool = True
) -> subprocess.Popen[bytes]:
    command = [sys.executable, *args] if python else list(args)
    with (work / f"{name}.log").open("ab") as log:
        return subprocess.Popen(
            command, cwd=REPO_ROOT, env=env, stdout=log, stderr=subprocess.STDOUT
        )


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait_for_port(port: int, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)


def _group_at_end(settings: Settings) -> str:
    """A consumer group of the bench's own, starting at the result topic's end."""
    group = f"{settings.topics().group('criticals')}.bench.{uuid.uuid4().hex[:8]}"
    ends = watermarks(settings.kafka_bootstrap, [settings.topics().for_aggregate("Result")])
    consumer = Consumer({"bootstrap.servers": settings.kafka_bootstrap, "group.id": group})
    try:
        consumer.commit(offsets=[TopicPartition(t.topic, t.partition, t.offset) for t in ends],
                        asynchronous=False)  # fmt: skip
    finally:
        consumer.close()
    return group


def _received_sample(bus: MessageBus, n: int) -> str:
    patient = bus.handle(
        RegisterPatient(
            organization_id=ORG, user_id="desk", family_name="Bench", given_name="Patient",
            date_of_birth=date(1970, 1, 1), sex="male", allow_duplicate=True,
        )
    )["patient_id"]  # fmt: skip
    order = bus.handle(
        PlaceOrder(
            organization_id=ORG, user_id="desk", patient_id=patient, loinc_codes=[POTASSIUM],
            placer_order_number=f"BENCH-{uuid.uuid4().hex[:12]}", priority="stat",
            ordering_clinician_name="Dr. Bench", ordering_provider_id="dr-bench",
        )
    )["order_id"]  # fmt: skip
    bus.handle(ConfirmOrder(organization_id=ORG, user_id="desk", order_id=order))
    sample: str = bus.handle(
        CollectSample(organization_id=ORG, user_id="phleb", order_id=order, specimen_type="serum")
    )["sample_id"]
    bus.handle(ReceiveSample(organization_id=ORG, user_id="tech", sample_id=sample))
    return sample


def _enter(bus: MessageBus, sample: str) -> tuple[str, float, str]:
    """Enter a critical potassium: its critical id, the wall time its transaction had
    committed, its correlation id."""
    command = EnterResult(
        organization_id=ORG, user_id="tech", sample_id=sample, loinc_code=POTASSIUM,
        value_text="7.4", unit="mmol/L",
    )  # fmt: skip
    outcome = bus.handle(command)
    return str(outcome["critical_ids"][0]), time.time(), command.correlation_id


def _produced(
    settings: Settings, start: list[TopicPartition], correlation_ids: set[str]
) -> dict[str, float]:
    """correlation id -> the Kafka timestamp (the relay's produce time) of its detection."""
    consumer = Consumer({"bootstrap.servers": settings.kafka_bootstrap,
                         "group.id": "lis-bench-reader", "enable.auto.commit": False})  # fmt: skip
    ends = {(t.topic, t.partition): t.offset for t in watermarks(
        settings.kafka_bootstrap, [settings.topics().for_aggregate("Result")])}  # fmt: skip
    consumer.assign(start)
    found: dict[str, float] = {}
    done = {(t.topic, t.partition) for t in start if t.offset >= ends[(t.topic, t.partition)]}
    deadline = time.monotonic() + 120
    try:
        while len(done) < len(ends) and time.monotonic() < deadline:
            for msg in consumer.consume(500, timeout=1.0):
                if msg.error() is not None:
                    continue
                key = (str(msg.topic()), int(msg.partition() or 0))
                if int(msg.offset() or 0) + 1 >= ends[key]:
                    done.add(key)
                pairs: list[tuple[str, Any]] = list(msg.headers() or [])  # type: ignore[arg-type]
                headers = {k: v for k, v in pairs if isinstance(v, bytes)}
                flow = headers.get("correlation_id", b"").decode()
                if (
                    flow in correlation_ids
                    and headers.get("event_type") == b"CRITICAL_VALUE_DETECTED"
                ):
                    found[flow] = msg.timestamp()[1] / 1000
    finally:
        consumer.close()
    return found


def _wait_for_mail(maildir: Path, count: int, timeout: float) -> dict[str, float]:
    """critical id -> modification time of its email's file, once ``count`` are there."""
    deadline = time.monotonic() + timeout
    while True:
        found = _arrivals(maildir)
        if len(found) >= count:
            return found
        if time.monotonic() > deadline:
            raise TimeoutError(f"{len(found)} of {count} emails arrived in {timeout:.0f} s")
        time.sleep(0.5)


def _arrivals(maildir: Path) -> dict[str, float]:
    if not (maildir / "new").is_dir():
        return {}
    found = {}
    for path in (maildir / "new").iterdir():
        for line in path.read_text(errors="replace").splitlines():
            if line.startswith("Reference: critical value "):
                found[line.rsplit(" ", 1)[1]] = path.stat().st_mtime_ns / 1e9
    return found


def _stages(database_url: str, critical_ids: list[str]) -> dict[str, tuple[float, float]]:
    engine = create_engine(database_url)
    try:
        with engine.connect() as conn:
            found = conn.execute(
                text(
                    "SELECT subject_id, extract(epoch FROM created_at) AS created,"
                    " extract(epoch FROM sent_at) AS sent FROM notification_deliveries"
                    " WHERE subject_id = ANY(:ids)"
                ),
                {"ids": critical_ids},
            ).all()
    finally:
        engine.dispose()
    return {r.subject_id: (float(r.created), float(r.sent)) for r in found}


def _raw_smtp(port: int, maildir: Path, count: int) -> list[float]:
    """The floor: the same-sized email sent straight to the server, start -> file."""
    channel = SmtpChannel("127.0.0.1", port, "LIS <bench@lis.local>")
    sample = next((maildir / "new").iterdir()).read_text(errors="replace")
    body = sample.split("\n\n", 1)[1]
    latencies = []
    try:
        for n in range(count):
            before = set((maildir / "new").iterdir())
            started = time.time()
            channel.send(
                OutgoingMessage(channel="email", address="raw@wards.lis.local",
                                recipient_name="Raw", subject=f"raw {n}", body=body,
                                message_id=f"<raw-{n}-{uuid.uuid4().hex}@lis.local>")
            )  # fmt: skip
            [new] = set((maildir / "new").iterdir()) - before
            latencies.append(new.stat().st_mtime_ns / 1e9 - started)
    finally:
        channel.close()
    return latencies


def _worker(overrides: dict[str, Any]) -> None:
    from infra.bootstrap import build_criticals
    from infra.config.logging import configure_logging
    from infra.config.settings import get_settings

    settings = get_settings()
    configure_logging(settings.log_level)
    build_criticals(settings, **overrides).run()


if __name__ == "__main__" and sys.argv[1:2] == ["worker"]:
    _worker(json.loads(sys.argv[2]))
