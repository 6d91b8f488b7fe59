"""The stack's fifth service: an SMTP server (aiosmtpd) storing every message in a Maildir
under the stack home, so critical value emails can be read (and counted) where they landed."""

from __future__ import annotations

import mailbox
import re
import smtplib
import sys
from dataclasses import dataclass
from pathlib import Path

from infra.config.settings import REPO_ROOT, Settings
from infra.stack import proc
from infra.stack.common import StackPaths, host_port, quietly

MARKER = "infra.stack.maildir_smtpd"
_VERSION = re.compile(rb"(\d+(?:\.\d+)+)\s*$")


@dataclass
class SmtpServer:
    settings: Settings
    paths: StackPaths
    name: str = "smtp"
    startup_timeout: float = 20.0

    @property
    def address(self) -> str:
        host, port = host_port(self.settings.smtp_url, 1025)
        return f"{host}:{port}"

    @property
    def maildir(self) -> Path:
        return self.paths.data / "mail"

    @property
    def log_file(self) -> Path:
        return self.paths.logs / "smtp.log"

    @property
    def pid_file(self) -> Path:
        return self.paths.run / "smtp.pid"

    def messages(self) -> int:
        """Messages stored so far (0 before the first)."""
        if not (self.maildir / "new").is_dir():
            return 0
        return len(mailbox.Maildir(self.maildir, create=False))

    def _greeting(self) -> bytes:
        host, port = host_port(self.settings.smtp_url, 1025)
        with smtplib.SMTP(timeout=3) as smtp:
            code, banner = smtp.connect(host, port)
            if code != 220:
                raise ConnectionError(f"greeting {code}")
            smtp.noop()
            return banner

    def process_alive(self) -> bool:
        return proc.running_pid(self.pid_file, MARKER) is not None

    def healthy(self) -> bool:
        return quietly(self._greeting)

    def version(self) -> str | None:
        try:
            found = _VERSION.search(self._greeting())
        except Exception:
            return None
        return found[1].decode() if found else None

    def start(self) -> None:
        """Start the server detached, with this checkout's interpreter (aiosmtpd is a project
        dependency: nothing to install)."""
        if self.process_alive():
            return
        host, port = host_port(self.settings.smtp_url, 1025)
        proc.spawn(
            [sys.executable, "-m", MARKER, "--host", host, "--port", str(port),
             "--maildir", str(self.maildir)],
            pid_file=self.pid_file, log_file=self.log_file, cwd=REPO_ROOT,
        )  # fmt: skip

    def stop(self) -> bool:
        return proc.stop_pid(self.pid_file, MARKER, grace=10)
