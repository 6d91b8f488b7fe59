"""A real MLLP listener (asyncio, an ephemeral port of this test's own) answering with the real
bus on the test's fresh database; the relay publishing what it writes to Kafka."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import pytest
from sqlalchemy import Engine

from infra.bootstrap import build_hl7_inbound, build_relay
from infra.config.settings import Settings
from infra.hl7.listener import start
from infra.hl7.store import InterfaceStore, Partner
from infra.simulation import analyzer, hospital_system

ORG = "org-hl7"


@dataclass(frozen=True)
class Listener:
    host: str
    port: int


@pytest.fixture
def partners(engine: Engine) -> InterfaceStore:
    store = InterfaceStore(engine)
    store.add_partner(Partner(hospital_system.APPLICATION, hospital_system.FACILITY, ORG, "his"))
    store.add_partner(
        Partner(analyzer.APPLICATION, analyzer.FACILITY, ORG, "analyzer", analyzer.ASSAY_CODES)
    )
    return store


@pytest.fixture
def listener(settings: Settings, engine: Engine, partners: InterfaceStore) -> Iterator[Listener]:
    inbound = build_hl7_inbound(settings, engine=engine)
    loop = asyncio.new_event_loop()
    server = loop.run_until_complete(start(inbound.answer, "127.0.0.1", 0))
    port = server.sockets[0].getsockname()[1]
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    yield Listener("127.0.0.1", port)
    loop.call_soon_threadsafe(server.close)
    loop.call_soon_threadsafe(loop.stop)
    thread.join(timeout=10)


@pytest.fixture
def relay(stack: Settings, settings: Settings) -> Iterator[None]:
    worker = build_relay(settings, 500)
    thread = threading.Thread(target=worker.run, daemon=True)
    thread.start()
    yield
    worker.stop()
    thread.join(timeout=30)


def wait_for(check: Callable[[], bool], seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while not check():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.2)
