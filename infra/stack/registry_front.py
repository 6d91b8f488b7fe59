"""A thin front on the registry's public port: answers what Apicurio does not, forwards the rest.

Why it exists (issue #10): Apicurio 3.3.3 (the newest on Maven Central) now and then never
sends an error response it has logged as sent: a 404 for an endpoint it lacks or an id it does
not hold is lost about 1-5 times in 1,000 (kept-alive and fresh connections alike), while 200s
were never lost in 8,000. confluent-kafka >= 2.13's deserializers ask
``GET /associations/resources/...`` (Confluent's association API, absent from Apicurio) before
decoding, so a stock consumer with default settings (no timeout) could wait forever.

What it does:
- ``GET .../associations/...`` is answered here: ``[]`` (no topic has an association, so every
  client falls back to its configured subject name strategy). Other methods there: a
  Confluent-style 404 body, at once.
- Everything else goes to Apicurio unchanged. An idempotent request (GET, HEAD) is hedged:
  when its answer has not come ``HEDGE_AFTER_S`` after the last attempt, the same request goes
  again on a fresh connection while the earlier ones still wait, and the first answer wins (a
  slow answer is not thrown away, a lost one is covered). Past ``GIVE_UP_S``, a 504 with a
  Confluent-style error body. Writes are sent once, on a fresh connection, with a long
  timeout, and never hang forever either.

Standard library only, so it starts in a blink and needs nothing but Python.
"""

from __future__ import annotations

import argparse
import http.client
import json
import logging
import queue
import re
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import ClassVar
from urllib.parse import urlsplit

# Apicurio's answers take milliseconds; one still owed after HEDGE_AFTER_S may be lost, so the
# request goes again (at most ATTEMPTS in all) while the earlier attempts keep waiting.
HEDGE_AFTER_S = 0.3
ATTEMPTS = 4
GIVE_UP_S = 10.0
WRITE_TIMEOUT_S = 60.0
_VERSION = re.compile(r"v\d+")
_IDEMPOTENT = frozenset({"GET", "HEAD", "OPTIONS"})
# Hop-by-hop headers are the connection's own, not the message's (RFC 9110 7.6.1).
_HOP = frozenset(
    {"connection", "keep-alive", "transfer-encoding", "te", "trailer", "upgrade",
     "proxy-connection", "content-length"}
)  # fmt: skip

log = logging.getLogger("registry-front")


def is_associations(path: str) -> bool:
    """``<api root>/associations[/...]``: Confluent's association API (the root is ``/`` or
    ends in a version segment like ``/apis/ccompat/v7``)."""
    segments = urlsplit(path).path.split("/")
    return any(
        seg == "associations" and (i == 1 or _VERSION.fullmatch(segments[i - 1]) is not None)
        for i, seg in enumerate(segments)
    )


Answer = tuple[int, list[tuple[str, str]], bytes]  # status, headers, body


def _exchange(
    conn: http.client.HTTPConnection, method: str, path: str, body: bytes, headers: dict[str, str]
) -> Answer:
    conn.request(method, path, body=body or None, headers=headers)
    response = conn.getresponse()
    return response.status, response.getheaders(), response.read()


class Backend:
    """Apicurio's address."""

    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port

    def connect(self, timeout: float) -> http.client.HTTPConnection:
        return http.client.HTTPConnection(self.host, self.port, timeout=timeout)


class FrontHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive towards the clients, like the registry itself
    server_version = "lis-registry-front"
    backend: ClassVar[Backend]

    def do_GET(self) -> None:
        self._handle()

    def do_HEAD(self) -> None:
        self._handle()

    def do_POST(self) -> None:
        self._handle()

    def do_PUT(self) -> None:
        self._handle()

    def do_DELETE(self) -> None:
        self._handle()

    def do_OPTIONS(self) -> None:
        self._handle()

    def log_message(self, format: str, *args: object) -> None:
        pass  # Apicurio keeps the access log; the front logs only what it did itself

    def _handle(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        if is_associations(self.path):
            if self.command == "GET":
                self._reply(200, b"[]", "application/json")
            else:
                self._error(404, 40400, "associations are not supported by this registry")
            return
        headers = {k: v for k, v in self.headers.items() if k.lower() not in _HOP}
        answer = (
            self._hedged(body, headers)
            if self.command in _IDEMPOTENT
            else self._once(body, headers)
        )
        if answer is None:
            self._error(504, 50003, f"the registry did not answer {self.command} {self.path}")
        else:
            self._relay(*answer)

    def _hedged(self, body: bytes, headers: dict[str, str]) -> Answer | None:
        """The first answer of up to ATTEMPTS identical requests, each on its own connection,
        a new one started whenever the others have been silent for HEDGE_AFTER_S."""
        answers: queue.Queue[Answer | None] = queue.Queue()
        deadline = time.monotonic() + GIVE_UP_S
        started = failed = 0
        while True:
            if started < ATTEMPTS:
                started += 1
                threading.Thread(
                    target=self._attempt, args=(body, headers, answers), daemon=True
                ).start()
            wait = deadline - time.monotonic()
            if started < ATTEMPTS:
                wait = min(wait, HEDGE_AFTER_S)
            if wait <= 0:
                return None
            try:
                answer = answers.get(timeout=wait)
            except queue.Empty:
                if started >= ATTEMPTS:
                    continue  # the deadline check above ends it
                log.warning(
                    "%s %s: no answer from the registry yet, attempt %d of %d",
                    self.command, self.path, started + 1, ATTEMPTS,
                )  # fmt: skip
                continue
            if answer is not None:
                return answer
            failed += 1
            if failed == ATTEMPTS:
                return None

    def _attempt(
        self, body: bytes, headers: dict[str, str], answers: queue.Queue[Answer | None]
    ) -> None:
        conn = self.backend.connect(GIVE_UP_S)
        try:
            answers.put(_exchange(conn, self.command, self.path, body, headers))
        except (OSError, http.client.HTTPException) as exc:
            log.warning("%s %s: %r", self.command, self.path, exc)
            answers.put(None)
        finally:
            conn.close()

    def _once(self, body: bytes, headers: dict[str, str]) -> Answer | None:
        conn = self.backend.connect(WRITE_TIMEOUT_S)
        try:
            return _exchange(conn, self.command, self.path, body, headers)
        except (OSError, http.client.HTTPException) as exc:
            log.warning("%s %s: no answer from the registry (%r)", self.command, self.path, exc)
            return None
        finally:
            conn.close()

    def _relay(self, status: int, headers: list[tuple[str, str]], data: bytes) -> None:
        kept = [(k, v) for k, v in headers if k.lower() not in _HOP | {"server", "date"}]
        self._send(status, kept, data)

    def _reply(self, status: int, data: bytes, content_type: str) -> None:
        self._send(status, [("Content-Type", content_type)], data)

    def _send(self, status: int, headers: list[tuple[str, str]], data: bytes) -> None:
        try:
            self.send_response(status)
            for name, value in headers:
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(data)
        except OSError:  # the client gave up (its own timeout): nothing left to answer
            self.close_connection = True

    def _error(self, status: int, code: int, message: str) -> None:
        body = json.dumps({"error_code": code, "message": message}).encode()
        self._reply(status, body, "application/json")


class FrontServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 256


def make_server(listen: tuple[str, int], backend: tuple[str, int]) -> FrontServer:
    handler = type("BoundFrontHandler", (FrontHandler,), {"backend": Backend(*backend)})
    return FrontServer(listen, handler)


def _address(value: str) -> tuple[str, int]:
    host, _, port = value.rpartition(":")
    return host or "127.0.0.1", int(port)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--listen", type=_address, required=True, help="host:port to serve")
    parser.add_argument("--backend", type=_address, required=True, help="Apicurio host:port")
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s [registry-front] %(message)s"
    )
    server = make_server(args.listen, args.backend)
    log.info("listening on %s:%d, registry on %s:%d", *args.listen, *args.backend)
    # TCP_NODELAY on accepted sockets: small JSON answers must not wait for Nagle.
    server.socket.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    server.serve_forever()


if __name__ == "__main__":
    main()
