"""Process helpers shared by the services: pid files, detached start, graceful stop, root."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

from infra.stack.common import StackError


def read_pid(pid_file: Path) -> int | None:
    """The pid recorded in PID_FILE, or None when there is none (or garbage)."""
    try:
        return int(pid_file.read_text().strip())
    except (OSError, ValueError):
        return None


def alive(pid: int, marker: str) -> bool:
    """True when PID runs and its command line contains MARKER.

    The marker check matters after a kill -9 or a reboot: the stale pid may now belong to an
    unrelated process, which we must neither trust as healthy nor signal.
    """
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return False
    return marker in cmdline


def running_pid(pid_file: Path, marker: str) -> int | None:
    """The live pid from PID_FILE; a stale file is removed so the next start is clean."""
    pid = read_pid(pid_file)
    if pid is not None and alive(pid, marker):
        return pid
    pid_file.unlink(missing_ok=True)
    return None


def spawn(
    cmd: Sequence[str],
    *,
    pid_file: Path,
    log_file: Path,
    cwd: Path,
    env: Mapping[str, str] | None = None,
) -> int:
    """Start CMD detached (own session, survives the CLI), output appended to LOG_FILE."""
    log_file.parent.mkdir(parents=True, exist_ok=True)
    pid_file.parent.mkdir(parents=True, exist_ok=True)
    with log_file.open("ab") as out:
        proc = subprocess.Popen(
            list(cmd),
            cwd=cwd,
            env={**os.environ, **(env or {})},
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    pid_file.write_text(f"{proc.pid}\n")
    return proc.pid


def stop_pid(pid_file: Path, marker: str, *, grace: float = 30.0) -> bool:
    """SIGTERM, wait up to GRACE seconds, then SIGKILL. False when nothing was running."""
    pid = running_pid(pid_file, marker)
    if pid is None:
        return False
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + grace
    while time.monotonic() < deadline:
        if not alive(pid, marker):
            break
        time.sleep(0.2)
    else:
        os.kill(pid, signal.SIGKILL)
        time.sleep(0.5)
    pid_file.unlink(missing_ok=True)
    return True


def as_root(cmd: Sequence[str]) -> list[str]:
    """CMD prefixed with non-interactive sudo unless we already are root."""
    return list(cmd) if os.geteuid() == 0 else ["sudo", "-n", *cmd]


def run(cmd: Sequence[str], *, what: str, env: Mapping[str, str] | None = None) -> str:
    """Run CMD to completion; on failure raise StackError with its output."""
    result = subprocess.run(
        list(cmd),
        capture_output=True,
        text=True,
        env={**os.environ, **(env or {})},
        check=False,
    )
    if result.returncode != 0:
        raise StackError(f"{what} failed ({' '.join(cmd)}):\n{result.stdout}{result.stderr}")
    return result.stdout


def apt_install(packages: Sequence[str]) -> None:
    """Install Debian PACKAGES (after apt-get update); used only when something is missing."""
    env = {"DEBIAN_FRONTEND": "noninteractive"}
    run(as_root(["apt-get", "update", "-q"]), what="apt-get update", env=env)
    run(
        as_root(["apt-get", "install", "-y", "-q", "--no-install-recommends", *packages]),
        what=f"apt-get install {' '.join(packages)}",
        env=env,
    )


def ensure_commands(packages: Mapping[str, str]) -> None:
    """Install the Debian package for each missing command (command -> package)."""
    missing = sorted({pkg for cmd, pkg in packages.items() if shutil.which(cmd) is None})
    if missing:
        apt_install(missing)


JAVA_AND_MAVEN = {"java": "openjdk-17-jre-headless", "mvn": "maven"}
