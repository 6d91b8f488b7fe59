"""Apicurio Registry 3 (Quarkus app from Maven Central) with its Confluent-compatible API.

Storage is SQL on our Postgres database ``registry``: Kafka messages carry schema ids, so the
ids must survive restarts (in-memory storage would orphan every stored message).

Clients never talk to Apicurio directly: a thin front (``registry_front``) holds the public
port and Apicurio listens on the port two above it. Apicurio now and then never sends an error
response, and stock confluent-kafka clients ask it one on every new topic (the association
API it lacks): the front answers that itself and hedges every read (a second request when the
first has been silent for 0.3 s), so a lost answer costs a client 0.3 s, not its life.
"""

from __future__ import annotations

import shutil
import sys
import tarfile
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import httpx
from sqlalchemy.engine import make_url

from infra.config.settings import REPO_ROOT, Settings
from infra.stack import jre, proc
from infra.stack.common import STACK_DIR, StackError, StackPaths, host_port

VERSION = "3.3.3"
ARTIFACT = f"io.apicurio:apicurio-registry-app:{VERSION}:tar.gz:all"
TARBALL = f"apicurio-registry-app-{VERSION}-all.tar.gz"
M2_TARBALL = Path.home() / ".m2/repository/io/apicurio/apicurio-registry-app" / VERSION / TARBALL
MARKER = "quarkus-run.jar"
REGISTRY_DATABASE = "registry"
FRONT_MARKER = "infra.stack.registry_front"
BACKEND_PORT_OFFSET = 2  # Apicurio's own port, above the public one (management: +10)


@dataclass
class SchemaRegistry:
    settings: Settings
    paths: StackPaths
    name: str = "registry"
    database: str = REGISTRY_DATABASE  # another only for a second, experimental instance
    startup_timeout: float = 180.0  # Quarkus + schema creation on two shared cores

    @property
    def address(self) -> str:
        return self.settings.schema_registry_url

    @property
    def backend_port(self) -> int:
        return host_port(self.address, 8081)[1] + BACKEND_PORT_OFFSET

    @property
    def front_pid_file(self) -> Path:
        return self.paths.run / "registry-front.pid"

    @property
    def home(self) -> Path:
        return self.paths.home / "registry" / VERSION

    @property
    def log_file(self) -> Path:
        return self.paths.logs / "registry.log"

    @property
    def pid_file(self) -> Path:
        return self.paths.run / "registry.pid"

    def process_alive(self) -> bool:
        return (
            proc.running_pid(self.pid_file, MARKER) is not None
            and proc.running_pid(self.front_pid_file, FRONT_MARKER) is not None
        )

    def healthy(self) -> bool:
        """Apicurio answers through the front (only the front answers the association API)."""
        try:
            subjects = httpx.get(f"{self.address}/subjects", timeout=3)
            front = httpx.get(f"{self.address}/associations/resources/-/health", timeout=3)
        except httpx.HTTPError:
            return False
        return subjects.status_code == 200 and front.status_code == 200

    def _apicurio_on_public_port(self) -> bool:
        """A registry started before the front existed holds the public port itself."""
        try:
            probe = httpx.get(f"{self.address}/associations/resources/-/health", timeout=3)
        except httpx.HTTPError:
            return False
        return probe.status_code == 404

    def version(self) -> str | None:
        parts = urlsplit(self.address)
        native = f"{parts.scheme}://{parts.netloc}/apis/registry/v3"
        try:
            info = httpx.get(f"{native}/system/info", timeout=3)
            return str(info.json().get("version")) if info.status_code == 200 else None
        except (httpx.HTTPError, ValueError):
            return None

    def start(self) -> None:
        """Apicurio (unpacked once, detached, on our Postgres storage), then the front."""
        if proc.running_pid(self.pid_file, MARKER) is not None and self._apicurio_on_public_port():
            self.stop()  # the old layout: moved behind the front on the next line
        if proc.running_pid(self.pid_file, MARKER) is None:
            self._start_apicurio()
        if proc.running_pid(self.front_pid_file, FRONT_MARKER) is None:
            host, port = host_port(self.address, 8081)
            proc.spawn(
                [
                    sys.executable,
                    "-m",
                    FRONT_MARKER,
                    "--listen",
                    f"{host}:{port}",
                    "--backend",
                    f"{host}:{self.backend_port}",
                ],
                pid_file=self.front_pid_file,
                log_file=self.paths.logs / "registry-front.log",
                cwd=REPO_ROOT,
            )

    def _start_apicurio(self) -> None:
        proc.ensure_commands(proc.JAVA_AND_MAVEN)
        java = jre.java_21(self.paths.home)
        self._unpack()
        host, port = host_port(self.address, 8081)
        db = make_url(self.settings.database_url)
        env = {
            "APICURIO_STORAGE_KIND": "sql",
            "APICURIO_STORAGE_SQL_KIND": "postgresql",
            "APICURIO_DATASOURCE_URL": (
                f"jdbc:postgresql://{db.host or '127.0.0.1'}:{db.port or 5432}/{self.database}"
            ),
            "APICURIO_DATASOURCE_USERNAME": db.username or "lis",
            "APICURIO_DATASOURCE_PASSWORD": db.password or "",
            # The default pool keeps 20 connections open; a dev registry needs a handful.
            "APICURIO_DATASOURCE_JDBC_INITIAL_SIZE": "2",
            "APICURIO_DATASOURCE_JDBC_MIN_SIZE": "2",
            "APICURIO_DATASOURCE_JDBC_MAX_SIZE": "10",
            # Apicurio's default pattern prints dates as "2026-11+00-22"; ISO reads better.
            "QUARKUS_LOG_CONSOLE_FORMAT": "%d{yyyy-MM-dd HH:mm:ss,SSS} %-5p [%c{3.}] (%t) %s%e%n",
            "QUARKUS_HTTP_HOST": host,
            "QUARKUS_HTTP_PORT": str(self.backend_port),
            # Health/metrics listener: loopback, and off the popular 9000.
            "QUARKUS_MANAGEMENT_HOST": "127.0.0.1",
            "QUARKUS_MANAGEMENT_PORT": str(port + 10),
            # Tests and developers clean up their subjects; deletion is off by default.
            "APICURIO_REST_DELETION_ARTIFACT_ENABLED": "true",
            "APICURIO_REST_DELETION_ARTIFACT_VERSION_ENABLED": "true",
            "APICURIO_REST_DELETION_GROUP_ENABLED": "true",
        }
        proc.spawn(
            [
                java,
                "-Xms128m",
                "-Xmx512m",
                "-XX:+UseSerialGC",
                "-XX:+ExitOnOutOfMemoryError",
                f"-Djava.io.tmpdir={self.home / 'tmp'}",
                "-jar",
                MARKER,
            ],
            pid_file=self.pid_file,
            log_file=self.log_file,
            cwd=self.home,
            env=env,
        )

    def _unpack(self) -> None:
        if (self.home / MARKER).exists():
            return
        tarball = M2_TARBALL
        if not tarball.exists():
            downloads = self.paths.home / "downloads"
            proc.run(
                [
                    "mvn",
                    "-q",
                    "-B",
                    "-f",
                    str(STACK_DIR / "kafka" / "pom.xml"),
                    "dependency:copy",
                    f"-Dartifact={ARTIFACT}",
                    f"-DoutputDirectory={downloads}",
                ],
                what="fetching Apicurio Registry with Maven",
            )
            tarball = downloads / TARBALL
        partial = self.home.parent / f"{VERSION}.partial"
        shutil.rmtree(partial, ignore_errors=True)  # left by an interrupted unpack
        partial.mkdir(parents=True)
        try:
            with tarfile.open(tarball) as archive:
                archive.extractall(partial, filter="data")
        except (OSError, tarfile.TarError) as exc:
            raise StackError(f"unpacking {tarball} failed: {exc}") from exc
        # The tarball may wrap everything in one folder; find the one holding the runner jar.
        runner = next(partial.rglob(MARKER), None)
        if runner is None:
            raise StackError(f"{tarball} holds no {MARKER}")
        runner.parent.rename(self.home)
        (self.home / "tmp").mkdir(exist_ok=True)
        shutil.rmtree(partial, ignore_errors=True)

    def stop(self) -> bool:
        front = proc.stop_pid(self.front_pid_file, FRONT_MARKER, grace=5)
        return proc.stop_pid(self.pid_file, MARKER, grace=30) or front
