"""MLLP framing (HL7 v2 over TCP): <VT> message <FS><CR>. The listener side is asyncio; the
sending side (outbound delivery, simulated partners) is a plain blocking socket with timeouts."""

from __future__ import annotations

import asyncio
import socket

START = b"\x0b"
END = b"\x1c\x0d"
MAX_MESSAGE_BYTES = 1 << 20  # 1 MiB: far above any lab message, far below a memory problem
ENCODING = "utf-8"  # MSH-18 "UNICODE UTF-8": patient names in any script


class FramingError(Exception):
    """The bytes on the wire are not an MLLP frame."""


class ConnectionDropped(ConnectionError):
    """The peer closed the connection before answering."""


def frame(message: str) -> bytes:
    return START + message.encode(ENCODING) + END


def unframe(data: bytes) -> str:
    """The message inside one frame (bytes up to and including <FS><CR>)."""
    start = data.find(START)
    if start < 0 or not data.endswith(END):
        raise FramingError("no <VT> ... <FS><CR> frame")
    return data[start + 1 : -len(END)].decode(ENCODING, errors="replace")


async def read_frame(reader: asyncio.StreamReader) -> str | None:
    """The next message, or None when the peer closed the connection between messages."""
    try:
        data = await reader.readuntil(END)
    except asyncio.IncompleteReadError as exc:
        if exc.partial.strip():
            raise FramingError("connection closed inside a frame") from exc
        return None
    except asyncio.LimitOverrunError as exc:
        raise FramingError(f"frame longer than {MAX_MESSAGE_BYTES} bytes") from exc
    return unframe(data)


def exchange(host: str, port: int, message: str, *, timeout: float) -> str:
    """Send one message and wait for the one answer (the ACK); ``timeout`` bounds each step.

    Raises ConnectionRefusedError, TimeoutError (socket.timeout), ConnectionDropped."""
    with socket.create_connection((host, port), timeout=timeout) as sock:
        sock.settimeout(timeout)
        sock.sendall(frame(message))
        buffer = b""
        while not buffer.endswith(END):
            chunk = sock.recv(65536)
            if not chunk:
                raise ConnectionDropped("the receiver closed the connection without an ACK")
            buffer += chunk
            if len(buffer) > MAX_MESSAGE_BYTES:
                raise FramingError("answer longer than a message may be")
        return unframe(buffer)
