"""The channel adapters against real servers: SMTP against the stack's Maildir server (aiosmtpd,
on a port of the test's own), the HTTP gateway against a local HTTP server started here."""

from __future__ import annotations

import json
import mailbox
import socket
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from domains.notification.ports import DeliveryFailed, OutgoingMessage
from infra.notify.http_gateway import HttpGatewayChannel
from infra.notify.smtp import SmtpChannel
from infra.stack.maildir_smtpd import serve

pytestmark = pytest.mark.integration
MOBILE = "+919876543210"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def message(address: str, n: int = 1, channel: str = "email") -> OutgoingMessage:
    body = "Dear Dr. Rao,\n\n" + "A critical value needs your attention now. " * 40
    return OutgoingMessage(
        channel=channel, address=address, recipient_name="Dr. A. Rao",
        subject=f"CRITICAL VALUE {n}", body=body, message_id=f"<m-{n}@lis.local>",
    )  # fmt: skip


@pytest.fixture
def maildir_server(tmp_path: Path) -> Iterator[tuple[int, Path]]:
    port, maildir = free_port(), tmp_path / "mail"
    controller = serve("127.0.0.1", port, maildir)
    yield port, maildir
    controller.stop()


def test_an_email_lands_in_the_maildir_under_the_queue_id_the_server_answered(
    maildir_server: tuple[int, Path],
) -> None:
    port, maildir = maildir_server
    channel = SmtpChannel("127.0.0.1", port, "LIS <lis@lis.local>")
    try:
        receipts = [channel.send(message("a.rao@wards.test.lis", n)) for n in (1, 2)]
    finally:
        channel.close()
    box = mailbox.Maildir(maildir, create=False)
    assert sorted(box.keys()) == sorted(str(r.provider_message_id) for r in receipts)
    stored = box.get_message(str(receipts[0].provider_message_id))
    assert stored["Message-ID"] == "<m-1@lis.local>"
    assert stored["To"] == '"Dr. A. Rao" <a.rao@wards.test.lis>'
    assert "A critical value" in str(stored.get_payload(decode=True))  # a long body (> 1000)


def test_a_refused_address_is_permanent_and_the_reason_does_not_echo_it(
    maildir_server: tuple[int, Path],
) -> None:
    port, _ = maildir_server
    channel = SmtpChannel("127.0.0.1", port, "LIS <lis@lis.local>")
    bad = "a.rao@@wards.test"  # the server refuses the address as malformed
    with pytest.raises(DeliveryFailed) as refused:
        channel.send(message(bad))
    channel.close()
    assert refused.value.permanent
    assert refused.value.reason.startswith("553")
    assert bad not in refused.value.reason


def test_a_server_that_does_not_answer_is_a_failure_worth_retrying() -> None:
    channel = SmtpChannel("127.0.0.1", free_port(), "LIS <lis@lis.local>", timeout=2)
    with pytest.raises(DeliveryFailed) as failed:
        channel.send(message("a.rao@wards.test.lis"))
    assert not failed.value.permanent


class Gateway(BaseHTTPRequestHandler):
    answers: list[tuple[int, dict[str, Any] | str]] = []
    seen: list[dict[str, Any]] = []

    def do_POST(self) -> None:
        length = int(self.headers["Content-Length"])
        self.seen.append(
            {"headers": dict(self.headers), "json": json.loads(self.rfile.read(length))}
        )
        status, body = self.answers.pop(0)
        data = (json.dumps(body) if isinstance(body, dict) else body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *_: Any) -> None:
        pass


@pytest.fixture
def gateway() -> Iterator[tuple[str, type[Gateway]]]:
    handler = type("G", (Gateway,), {"answers": [], "seen": []})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/v1/messages", handler
    server.shutdown()
    server.server_close()


def test_an_sms_goes_to_the_gateway_with_its_idempotency_key_and_comes_back_with_its_id(
    gateway: tuple[str, type[Gateway]],
) -> None:
    url, handler = gateway
    handler.answers.append((202, {"id": "gw-123"}))
    channel = HttpGatewayChannel("sms", url, token="s3cret")
    receipt = channel.send(message(MOBILE, channel="sms"))
    channel.close()
    assert receipt.provider_message_id == "gw-123"
    [request] = handler.seen
    assert request["headers"]["Idempotency-Key"] == "<m-1@lis.local>"
    assert request["headers"]["Authorization"] == "Bearer s3cret"
    assert request["json"]["to"] == MOBILE
    assert request["json"]["reference"] == "<m-1@lis.local>"
    assert request["json"]["text"].startswith("CRITICAL VALUE 1\n")


@pytest.mark.parametrize(
    ("status", "permanent"), [(400, True), (404, True), (429, False), (503, False)]
)
def test_gateway_refusals_are_permanent_and_overload_or_outage_is_retried(
    gateway: tuple[str, type[Gateway]], status: int, permanent: bool
) -> None:
    url, handler = gateway
    handler.answers.append((status, f'{{"error": "cannot send to {MOBILE}"}}'))
    channel = HttpGatewayChannel("whatsapp", url)
    with pytest.raises(DeliveryFailed) as failed:
        channel.send(message(MOBILE, channel="whatsapp"))
    channel.close()
    assert failed.value.permanent is permanent
    assert str(status) in failed.value.reason
    assert MOBILE not in failed.value.reason  # the gateway echoed it; the reason masks it


def test_an_unreachable_gateway_is_retried() -> None:
    channel = HttpGatewayChannel("sms", f"http://127.0.0.1:{free_port()}/send", timeout=2)
    with pytest.raises(DeliveryFailed) as failed:
        channel.send(message(MOBILE, channel="sms"))
    assert not failed.value.permanent
