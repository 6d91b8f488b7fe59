"""``lis hl7 listen``: the MLLP listener. Each connection's messages are answered in order;
applying one (commands on the bus, blocking) runs on a worker thread, so connections from many
analyzers and hospital systems are served side by side."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable

import structlog

from infra.hl7 import mllp

log = structlog.get_logger(__name__)
Answer = Callable[[str], str]


async def serve_connection(
    answer: Answer, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
) -> None:
    peer = writer.get_extra_info("peername")
    try:
        while True:
            try:
                message = await mllp.read_frame(reader)
            except mllp.FramingError as exc:
                log.warning("mllp.bad_frame", peer=str(peer), reason=str(exc))
                break
            if message is None:
                break
            reply = await asyncio.get_running_loop().run_in_executor(None, answer, message)
            writer.write(mllp.frame(reply))
            await writer.drain()
    except (ConnectionError, asyncio.IncompleteReadError):
        log.info("mllp.connection_lost", peer=str(peer))
    finally:
        writer.close()
        with contextlib.suppress(ConnectionError):
            await writer.wait_closed()


async def start(answer: Answer, host: str, port: int) -> asyncio.Server:
    async def on_connection(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await serve_connection(answer, reader, writer)

    return await asyncio.start_server(on_connection, host, port, limit=mllp.MAX_MESSAGE_BYTES)


async def serve_until(answer: Answer, host: str, port: int, stop: asyncio.Event) -> None:
    server = await start(answer, host, port)
    log.info("mllp.listening", host=host, port=port)
    async with server:
        await stop.wait()
    log.info("mllp.stopped")
