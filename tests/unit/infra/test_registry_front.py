"""The registry front: answers the association API itself, asks again for a lost answer."""

from __future__ import annotations

import http.client
import json
import socket
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from infra.stack.registry_front import is_associations, make_server


class LosingRegistry(BaseHTTPRequestHandler):
    """Like Apicurio at its worst: the first GET of /lost is read and never answered."""

    protocol_version = "HTTP/1.1"
    seen: list[str] = []  # shared by design: the test reads what arrived
    lost_once = threading.Event()

    def do_GET(self) -> None:
        self.seen.append(self.path)
        if self.path.endswith("/lost") and not self.lost_once.is_set():
            self.lost_once.set()
            time.sleep(3)  # never answers in time; the front must not wait for it
            self.close_connection = True
            return
        self._answer(200, {"path": self.path})

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        self.seen.append(f"POST {self.path} {body.decode()}")
        self._answer(200, {"id": 7})

    def _answer(self, status: int, payload: object) -> None:
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def front() -> Iterator[int]:
    LosingRegistry.seen.clear()
    LosingRegistry.lost_once.clear()
    backend = ThreadingHTTPServer(("127.0.0.1", 0), LosingRegistry)
    backend.daemon_threads = True
    server = make_server(("127.0.0.1", 0), ("127.0.0.1", backend.server_address[1]))
    for s in (backend, server):
        threading.Thread(target=s.serve_forever, daemon=True).start()
    yield server.server_address[1]
    server.shutdown()
    backend.shutdown()


def _get(conn: http.client.HTTPConnection, path: str) -> tuple[int, bytes, float]:
    started = time.monotonic()
    conn.request("GET", path)
    response = conn.getresponse()
    return response.status, response.read(), time.monotonic() - started


def test_association_lookups_are_answered_by_the_front_with_no_associations(front: int) -> None:
    conn = http.client.HTTPConnection("127.0.0.1", front, timeout=5)
    path = "/apis/ccompat/v7/associations/resources/-/lis.sample.events?resourceType=topic"

    status, body, _ = _get(conn, path)

    assert (status, json.loads(body)) == (200, [])
    assert LosingRegistry.seen == []  # never reached the registry


def test_a_lost_answer_is_asked_again_and_arrives_on_the_same_client_connection(
    front: int,
) -> None:
    conn = http.client.HTTPConnection("127.0.0.1", front, timeout=5)

    status, body, took = _get(conn, "/apis/ccompat/v7/lost")
    again = _get(conn, "/apis/ccompat/v7/schemas/ids/1")  # the kept-alive connection still works

    assert (status, json.loads(body)) == (200, {"path": "/apis/ccompat/v7/lost"})
    assert took < 2.5  # the first attempt is given up after 0.5 s, not after the 3 s stall
    assert LosingRegistry.seen.count("/apis/ccompat/v7/lost") == 2
    assert again[0] == 200


def test_writes_are_forwarded_once_with_their_body(front: int) -> None:
    conn = http.client.HTTPConnection("127.0.0.1", front, timeout=5)
    payload = json.dumps({"schema": "{}"})

    conn.request("POST", "/apis/ccompat/v7/subjects/s/versions", body=payload)
    response = conn.getresponse()

    assert (response.status, json.loads(response.read())) == (200, {"id": 7})
    assert LosingRegistry.seen == [f"POST /apis/ccompat/v7/subjects/s/versions {payload}"]


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("/apis/ccompat/v7/associations/resources/-/t?resourceType=topic", True),
        ("/associations", True),
        ("/apis/ccompat/v7/associations", True),
        ("/apis/ccompat/v7/subjects/associations/versions", False),
        ("/apis/ccompat/v7/subjects/lis.sample.events-x/versions/latest", False),
    ],
)
def test_only_the_association_api_is_recognised(path: str, expected: bool) -> None:
    assert is_associations(path) is expected


def test_a_registry_that_is_down_gets_a_504_with_a_confluent_error_body_not_a_hang() -> None:
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        dead_port = probe.getsockname()[1]
    server = make_server(("127.0.0.1", 0), ("127.0.0.1", dead_port))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        conn = http.client.HTTPConnection("127.0.0.1", server.server_address[1], timeout=15)
        status, body, took = _get(conn, "/apis/ccompat/v7/schemas/ids/1")
    finally:
        server.shutdown()

    assert status == 504
    assert json.loads(body)["error_code"] == 50003
    assert took < 5
