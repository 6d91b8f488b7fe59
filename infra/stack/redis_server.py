"""Redis from Debian packages, daemonized with its pid file, log and data under stack_home."""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

import redis

from infra.config.settings import Settings
from infra.stack import proc
from infra.stack.common import StackPaths, host_port, quietly


@dataclass
class Redis:
    settings: Settings
    paths: StackPaths
    name: str = "redis"
    startup_timeout: float = 20.0

    @property
    def address(self) -> str:
        host, port = host_port(self.settings.redis_url, 6379)
        return f"{host}:{port}"

    @property
    def log_file(self) -> Path:
        return self.paths.logs / "redis.log"

    @property
    def pid_file(self) -> Path:
        return self.paths.run / "redis.pid"

    def _client(self) -> redis.Redis[bytes]:
        url = self.settings.redis_url
        return redis.Redis.from_url(url, socket_timeout=2, socket_connect_timeout=2)

    def process_alive(self) -> bool:
        return proc.running_pid(self.pid_file, "redis-server") is not None

    def healthy(self) -> bool:
        return quietly(lambda: self._client().ping())

    def version(self) -> str | None:
        try:
            return str(self._client().info("server")["redis_version"])
        except Exception:
            return None

    def start(self) -> None:
        """Install when missing and start a daemonized redis-server (appendonly: read models
        survive restarts)."""
        if proc.running_pid(self.pid_file, "redis-server") is not None:
            return  # started but not answering yet: `up` waits for it
        if shutil.which("redis-server") is None:
            proc.apt_install(["redis-server"])
        host, port = host_port(self.settings.redis_url, 6379)
        data = self.paths.data / "redis"
        data.mkdir(parents=True, exist_ok=True)
        proc.run(
            [
                "redis-server",
                "--daemonize",
                "yes",
                "--bind",
                host,
                "--port",
                str(port),
                "--pidfile",
                str(self.pid_file),
                "--logfile",
                str(self.log_file),
                "--dir",
                str(data),
                "--appendonly",
                "yes",
                "--appendfsync",
                "everysec",
            ],
            what="redis-server",
        )

    def stop(self) -> bool:
        return proc.stop_pid(self.pid_file, "redis-server", grace=15)
