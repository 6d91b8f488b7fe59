"""Apicurio Registry 3 (Quarkus app from Maven Central) with its Confluent-compatible API.

Storage is SQL on our Postgres database ``registry``: Kafka messages carry schema ids, so the
ids must survive restarts (in-memory storage would orphan every stored message).
"""

from __future__ import annotations

import shutil
import tarfile
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import httpx
from sqlalchemy.engine import make_url

from infra.config.settings import Settings
from infra.stack import jre, proc
from infra.stack.common import STACK_DIR, StackError, StackPaths, host_port

VERSION = "3.3.3"
ARTIFACT = f"io.apicurio:apicurio-registry-app:{VERSION}:tar.gz:all"
TARBALL = f"apicurio-registry-app-{VERSION}-all.tar.gz"
M2_TARBALL = Path.home() / ".m2/repository/io/apicurio/apicurio-registry-app" / VERSION / TARBALL
MARKER = "quarkus-run.jar"
REGISTRY_DATABASE = "registry"


@dataclass
class SchemaRegistry:
    settings: Settings
    paths: StackPaths
    name: str = "registry"
    startup_timeout: float = 180.0  # Quarkus + schema creation on two shared cores

    @property
    def address(self) -> str:
        return self.settings.schema_registry_url

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
        return proc.running_pid(self.pid_file, MARKER) is not None

    def healthy(self) -> bool:
        try:
            return httpx.get(f"{self.address}/subjects", timeout=3).status_code == 200
        except httpx.HTTPError:
            return False

    def version(self) -> str | None:
        parts = urlsplit(self.address)
        native = f"{parts.scheme}://{parts.netloc}/apis/registry/v3"
        try:
            info = httpx.get(f"{native}/system/info", timeout=3)
            return str(info.json().get("version")) if info.status_code == 200 else None
        except (httpx.HTTPError, ValueError):
            return None

    def start(self) -> None:
        """Unpack the app once, then start it detached on our Postgres storage."""
        if proc.running_pid(self.pid_file, MARKER) is not None:
            return
        proc.ensure_commands(proc.JAVA_AND_MAVEN)
        java = jre.java_21(self.paths.home)
        self._unpack()
        host, port = host_port(self.address, 8081)
        db = make_url(self.settings.database_url)
        env = {
            "APICURIO_STORAGE_KIND": "sql",
            "APICURIO_STORAGE_SQL_KIND": "postgresql",
            "APICURIO_DATASOURCE_URL": (
                f"jdbc:postgresql://{db.host or '127.0.0.1'}:{db.port or 5432}/{REGISTRY_DATABASE}"
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
            "QUARKUS_HTTP_PORT": str(port),
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
        return proc.stop_pid(self.pid_file, MARKER, grace=30)
