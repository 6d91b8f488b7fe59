"""A receiving system for outbound tests: an MLLP server (an ephemeral port of the test's own)
that misbehaves as told, one scripted action per message received, then acknowledges. Like a
real HL7 system it applies a control id once, however often it is sent."""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from dataclasses import dataclass, field

from infra.hl7 import mllp
from infra.hl7.er7 import Seg


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Receiver:
    port: int
    script: list[str] = field(default_factory=list)  # nak | drop | slow, then ack
    slow_seconds: float = 2.0
    receipts: list[tuple[float, str, str]] = field(default_factory=list)  # (time, id, action)
    applied: dict[str, str] = field(default_factory=dict)  # control id -> message

    def start(self) -> None:
        self._loop = asyncio.new_event_loop()
        self._server = self._loop.run_until_complete(
            asyncio.start_server(self._serve, "127.0.0.1", self.port)
        )
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._loop.call_soon_threadsafe(self._server.close)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=10)

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while (message := await mllp.read_frame(reader)) is not None:
                msh = Seg("MSH", message.split("\r", 1)[0].split("|"))
                control_id = msh.get(10)
                action = self.script.pop(0) if self.script else "ack"
                self.receipts.append((time.monotonic(), control_id, action))
                if action == "drop":
                    break  # read it, then hang up without an answer
                if action == "nak":
                    writer.write(mllp.frame(_ack(msh, "AE", "busy: try again")))
                    await writer.drain()
                    continue
                if action == "slow":
                    await asyncio.sleep(self.slow_seconds)
                self.applied.setdefault(control_id, message)  # a duplicate changes nothing
                writer.write(mllp.frame(_ack(msh, "AA", "")))
                await writer.drain()
        except (ConnectionError, mllp.FramingError):
            pass
        finally:
            writer.close()


def _ack(msh: Seg, code: str, text: str) -> str:
    return "\r".join(
        [
            f"MSH|^~\\&|EHR|HOSP|LIS|{msh.get(4)}|20260101000000+0000||ACK^R01^ACK|"
            f"R{msh.get(10)[:19]}|P|2.5.1",
            f"MSA|{code}|{msh.get(10)}|{text}".rstrip("|"),
        ]
    )
