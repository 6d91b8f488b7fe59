"""Running the API: in this process (``lis serve``, uvicorn workers on the composition root's
factory) or as a child process that tools start and stop (``lis demo``, ``lis simulate``,
``lis bench api``), waiting until it answers."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import httpx


def serve(host: str, port: int, *, workers: int = 1, log_level: str = "warning") -> None:
    import uvicorn

    uvicorn.run(
        "infra.bootstrap:build_api",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        log_level=log_level,
        access_log=False,  # the request metrics count every request; lines per request cost CPU
    )


def answers(url: str) -> bool:
    try:
        return httpx.get(f"{url}/health/live", timeout=1).status_code == 200
    except httpx.HTTPError:
        return False


def start_api_process(
    port: int,
    log_path: Path,
    *,
    workers: int = 1,
    env: dict[str, str] | None = None,
    timeout_s: float = 60,
) -> subprocess.Popen[bytes]:
    lis = shutil.which("lis") or str(Path(sys.executable).with_name("lis"))
    log_path.parent.mkdir(parents=True, exist_ok=True)
    log = log_path.open("ab")
    process = subprocess.Popen(
        [lis, "serve", "--port", str(port), "--workers", str(workers)],
        stdout=log,
        stderr=subprocess.STDOUT,
        env={**os.environ, **(env or {})},
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + timeout_s
    while not answers(url):
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            raise RuntimeError(f"the API did not start on port {port}; see {log_path}")
        time.sleep(0.2)
    return process


def stop(process: subprocess.Popen[bytes]) -> None:
    process.terminate()
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
