"""PostgreSQL 15 from Debian packages: the packaged cluster, role ``lis``, our databases."""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

import psycopg
from sqlalchemy.engine import make_url

from infra.config.settings import Settings
from infra.stack import proc
from infra.stack.common import StackError, StackPaths, quietly

PG_VERSION = "15"
CLUSTER = "main"
# `lis_test` for the test suite; `registry` is the schema registry's SQL storage.
TEST_DATABASE = "lis_test"
REGISTRY_DATABASE = "registry"


@dataclass
class Postgres:
    settings: Settings
    paths: StackPaths
    name: str = "postgres"
    startup_timeout: float = 60.0

    def _conninfo(self, database: str | None = None) -> str:
        url = make_url(self.settings.database_url)
        return psycopg.conninfo.make_conninfo(
            host=url.host or "127.0.0.1",
            port=url.port or 5432,
            user=url.username or "lis",
            password=url.password or "",
            dbname=database or url.database or "lis",
            connect_timeout=3,
        )

    @property
    def databases(self) -> tuple[str, ...]:
        app = make_url(self.settings.database_url).database or "lis"
        return tuple(dict.fromkeys((app, TEST_DATABASE, REGISTRY_DATABASE)))

    @property
    def address(self) -> str:
        url = make_url(self.settings.database_url)
        return f"{url.host or '127.0.0.1'}:{url.port or 5432}"

    @property
    def log_file(self) -> Path:
        return self.paths.logs / "postgres.log"

    def _query(self, sql: str, database: str | None = None) -> str:
        with psycopg.connect(self._conninfo(database)) as conn:
            row = conn.execute(sql.encode()).fetchone()
        return str(row[0]) if row else ""

    def _answers(self, database: str | None = None) -> bool:
        return quietly(lambda: self._query("SELECT 1", database))

    def process_alive(self) -> bool:
        return True  # pg_ctlcluster start waits for the server itself; nothing to watch

    def healthy(self) -> bool:
        return self._answers()

    def version(self) -> str | None:
        try:
            return self._query("SHOW server_version").split()[0]
        except Exception:
            return None

    def start(self) -> None:
        """Install, start the cluster, provision role and databases, migrate. Idempotent."""
        if shutil.which("pg_ctlcluster") is None or not _bindir().exists():
            proc.apt_install(["postgresql", "postgresql-contrib"])
        self._link_log()
        clusters = [
            line.split()
            for line in proc.run(["pg_lsclusters", "-h"], what="pg_lsclusters").splitlines()
        ]
        mine = [row for row in clusters if row[:2] == [PG_VERSION, CLUSTER]]
        if not mine:
            proc.run(
                proc.as_root(["pg_createcluster", PG_VERSION, CLUSTER]), what="pg_createcluster"
            )
        if not mine or mine[0][3] != "online":
            proc.run(
                proc.as_root(["pg_ctlcluster", PG_VERSION, CLUSTER, "start"]),
                what="pg_ctlcluster start",
            )
            # Remember that `up` started it, so `down` stops only what `up` started.
            (self.paths.run / "postgres.started").touch()
        if not all(self._answers(db) for db in self.databases):
            self._provision()
        self._migrate()

    def _link_log(self) -> None:
        # Debian's cluster logs to /var/log/postgresql; a link keeps every log under logs/.
        target = Path(f"/var/log/postgresql/postgresql-{PG_VERSION}-{CLUSTER}.log")
        if not self.log_file.is_symlink():
            self.log_file.unlink(missing_ok=True)
            self.log_file.symlink_to(target)

    def _psql(self, sql: str) -> str:
        return proc.run(
            proc.as_root(
                [
                    "runuser",
                    "-u",
                    "postgres",
                    "--",
                    "psql",
                    "-X",
                    "-q",
                    "-A",
                    "-t",
                    "-v",
                    "ON_ERROR_STOP=1",
                    "-d",
                    "postgres",
                    "-c",
                    sql,
                ]
            ),
            what="psql as postgres",
        )

    def _provision(self) -> None:
        url = make_url(self.settings.database_url)
        user, password = url.username or "lis", (url.password or "").replace("'", "''")
        # Superuser: it is a local development cluster, and migrations may create extensions.
        if not self._psql(f"SELECT 1 FROM pg_roles WHERE rolname = '{user}'").strip():
            self._psql(f"CREATE ROLE \"{user}\" LOGIN SUPERUSER PASSWORD '{password}'")
        else:
            self._psql(f"ALTER ROLE \"{user}\" LOGIN PASSWORD '{password}'")
        for db in self.databases:
            if not self._psql(f"SELECT 1 FROM pg_database WHERE datname = '{db}'").strip():
                self._psql(f'CREATE DATABASE "{db}" OWNER "{user}"')

    def _migrate(self) -> None:
        """The configured database only: the test suite migrates its own (several checkouts
        may share one stack, each with its migrations and its test database)."""
        from infra.db.migrate import upgrade

        db = self.databases[0]
        try:
            upgrade(self.settings.database_url)
        except Exception as exc:
            raise StackError(f"alembic upgrade head on database {db} failed: {exc}") from exc

    def stop(self) -> bool:
        marker = self.paths.run / "postgres.started"
        if not marker.exists():
            return False  # a cluster we did not start (shared machine): leave it running
        proc.run(
            proc.as_root(["pg_ctlcluster", PG_VERSION, CLUSTER, "stop"]), what="pg_ctlcluster stop"
        )
        marker.unlink()
        return True


def _bindir() -> Path:
    return Path(f"/usr/lib/postgresql/{PG_VERSION}/bin")
