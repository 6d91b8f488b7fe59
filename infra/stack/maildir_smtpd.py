"""The stack's SMTP server: aiosmtpd, every message accepted is stored in a Maildir.

    python -m infra.stack.maildir_smtpd --host 127.0.0.1 --port 1025 --maildir DIR

Each message becomes one file in ``DIR/new`` (``mailbox.Maildir``: written to ``tmp`` and
moved, so a reader never sees half a message), and the reply to DATA names that file
("250 2.0.0 Ok: queued as <key>"): the sender's provider message id finds the file. It stores
what it is given, twice if given twice: it does not deduplicate, so counting its files tells
what senders really did.
"""

from __future__ import annotations

import argparse
import mailbox
import signal
import threading
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller

IDENT = "LIS Maildir SMTP"  # the greeting; the version of aiosmtpd follows it


class MaildirHandler:
    def __init__(self, path: Path) -> None:
        for sub in ("tmp", "new", "cur"):  # Maildir(create=True) skips an existing folder
            (path / sub).mkdir(parents=True, exist_ok=True)
        self.maildir = mailbox.Maildir(path, create=False)
        self._lock = threading.Lock()

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        content = envelope.original_content or envelope.content
        data = content if isinstance(content, bytes) else str(content).encode()
        with self._lock:
            key = self.maildir.add(data)
        return f"250 2.0.0 Ok: queued as {key}"


def serve(host: str, port: int, maildir: Path) -> Controller:
    """Start serving on a thread of this process (tests use it too); ``stop()`` ends it."""
    import aiosmtpd

    controller = Controller(
        MaildirHandler(maildir), hostname=host, port=port,
        ident=f"{IDENT} {aiosmtpd.__version__}", data_size_limit=10 * 1024 * 1024,
    )  # fmt: skip
    controller.start()
    return controller


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=1025)
    parser.add_argument("--maildir", type=Path, required=True)
    args = parser.parse_args(argv)
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    controller = serve(args.host, args.port, args.maildir)
    print(f"smtp listening on {args.host}:{args.port}, Maildir {args.maildir}", flush=True)
    try:
        stop.wait()
    finally:
        controller.stop()


if __name__ == "__main__":
    main()
