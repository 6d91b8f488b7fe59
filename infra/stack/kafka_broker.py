"""Apache Kafka, one KRaft node (broker + controller), jars from Maven Central via our pom."""

from __future__ import annotations

import base64
import hashlib
import re
import uuid
from dataclasses import dataclass
from pathlib import Path

from confluent_kafka.admin import AdminClient

from infra.config.settings import Settings
from infra.stack import jre, proc
from infra.stack.common import STACK_DIR, StackPaths, host_port, quietly

POM = STACK_DIR / "kafka" / "pom.xml"
LOG4J2 = STACK_DIR / "kafka" / "log4j2.xml"
MARKER = "kafka.Kafka"
HEAP = ["-Xms256m", "-Xmx768m"]


def kafka_version() -> str:
    """The broker version pinned in the pom (one place to bump it)."""
    match = re.search(r"<kafka\.version>([^<]+)</kafka\.version>", POM.read_text())
    return match.group(1) if match else "unknown"


@dataclass
class Kafka:
    settings: Settings
    paths: StackPaths
    name: str = "kafka"
    startup_timeout: float = 120.0

    @property
    def address(self) -> str:
        return self.settings.kafka_bootstrap

    @property
    def home(self) -> Path:
        return self.paths.home / "kafka"

    @property
    def log_file(self) -> Path:
        return self.paths.logs / "kafka.log"

    @property
    def pid_file(self) -> Path:
        return self.paths.run / "kafka.pid"

    def process_alive(self) -> bool:
        return proc.running_pid(self.pid_file, MARKER) is not None

    def healthy(self) -> bool:
        admin = AdminClient({"bootstrap.servers": self.address, "log_level": 0})
        return quietly(lambda: admin.list_topics(timeout=3))

    def version(self) -> str | None:
        return kafka_version() if self.healthy() else None

    def start(self) -> None:
        """Fetch libs, write the config, format storage once, start the JVM detached."""
        if proc.running_pid(self.pid_file, MARKER) is not None:
            return  # starting (or recovering its log) but not answering yet: `up` waits
        proc.ensure_commands(proc.JAVA_AND_MAVEN)
        libs = self._fetch_libs()
        config = self._write_config()
        data = self.paths.data / "kafka"
        java = jre.system_java()
        if not (data / "meta.properties").exists():
            proc.run(
                [
                    java,
                    *HEAP,
                    f"-Dlog4j2.configurationFile={LOG4J2}",
                    f"-Dkafka.logs.dir={self.paths.logs}",
                    "-cp",
                    f"{libs}/*",
                    "kafka.tools.StorageTool",
                    "format",
                    "--standalone",
                    "-t",
                    _cluster_id(),
                    "-c",
                    str(config),
                ],
                what="kafka storage format",
            )
        proc.spawn(
            [
                java,
                *HEAP,
                "-XX:+UseG1GC",
                "-XX:MaxGCPauseMillis=20",
                "-XX:+ExitOnOutOfMemoryError",
                "-Djava.awt.headless=true",
                f"-Dlog4j2.configurationFile={LOG4J2}",
                f"-Dkafka.logs.dir={self.paths.logs}",
                "-cp",
                f"{libs}/*",
                MARKER,
                str(config),
            ],
            pid_file=self.pid_file,
            log_file=self.paths.logs / "kafka.out",  # JVM crashes, before log4j is up
            cwd=self.home,
        )

    def _fetch_libs(self) -> Path:
        libs = self.home / "libs"
        stamp = libs / ".version"
        # The pom's digest too: a changed dependency list refetches the jars.
        version = f"{kafka_version()} {hashlib.sha256(POM.read_bytes()).hexdigest()[:12]}"
        if stamp.exists() and stamp.read_text().strip() == version:
            return libs
        if libs.exists():
            for jar in libs.glob("*.jar"):
                jar.unlink()  # another version's jars must not share the class path
        maven = ["mvn", "-q", "-B", "-f", str(POM)]
        proc.run(
            [*maven, "dependency:copy-dependencies", f"-DoutputDirectory={libs}"],
            what="fetching Kafka jars with Maven",
        )
        stamp.write_text(f"{version}\n")
        return libs

    def _write_config(self) -> Path:
        host, port = host_port(self.address, 9092)
        config = self.home / "server.properties"
        props = {
            "process.roles": "broker,controller",
            "node.id": "1",
            "controller.quorum.bootstrap.servers": f"{host}:{port + 1}",
            "listeners": f"PLAINTEXT://{host}:{port},CONTROLLER://{host}:{port + 1}",
            "advertised.listeners": f"PLAINTEXT://{host}:{port}",
            "controller.listener.names": "CONTROLLER",
            "listener.security.protocol.map": "CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT",
            "inter.broker.listener.name": "PLAINTEXT",
            "log.dirs": str(self.paths.data / "kafka"),
            # Topics are created on purpose (with partitions and retention), never by a typo.
            "auto.create.topics.enable": "false",
            "num.partitions": "1",
            "default.replication.factor": "1",
            "min.insync.replicas": "1",
            "offsets.topic.replication.factor": "1",
            "transaction.state.log.replication.factor": "1",
            "transaction.state.log.min.isr": "1",
            "share.coordinator.state.topic.replication.factor": "1",
            "share.coordinator.state.topic.min.isr": "1",
            # Default retention for ad-hoc topics; event topics set retention.ms=-1 (kept
            # forever), which overrides this, and retention.bytes stays unlimited.
            "log.retention.hours": "168",
            "log.retention.bytes": "-1",
            "log.segment.bytes": str(256 * 1024 * 1024),
            # Two shared cores: few threads are plenty for a development broker.
            "num.network.threads": "2",
            "num.io.threads": "2",
            "background.threads": "2",
            "num.recovery.threads.per.data.dir": "1",
            "num.replica.fetchers": "1",
            "log.cleaner.threads": "1",
            "group.coordinator.threads": "1",
            "share.coordinator.threads": "1",
            # Tests start consumers constantly; no reason to delay their first rebalance.
            "group.initial.rebalance.delay.ms": "0",
        }
        self.home.mkdir(parents=True, exist_ok=True)
        config.write_text("".join(f"{key}={value}\n" for key, value in props.items()))
        return config

    def stop(self) -> bool:
        # Controlled shutdown of a single node is quick; 60 s covers a busy log flush.
        return proc.stop_pid(self.pid_file, MARKER, grace=60)


def _cluster_id() -> str:
    """A Kafka cluster id: a random UUID, URL-safe base64 without padding (as kafka-storage)."""
    return base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")
