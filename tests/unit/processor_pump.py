"""Processors run inline on a FakeApp: each event a command commits is handed, through the real
Avro codec, to every processor that reacts to it, as its worker would, until nothing new
happens. What a person does (``handle``) then finds the processors' work done, as it would
after a moment on the real stack."""

from __future__ import annotations

from typing import Any

from consumers.base import Received
from consumers.processors import completion, reporting, routing
from consumers.processors.base import Deps, Processor, ProcessorHandler
from domains.shared.bus import MessageBus
from domains.shared.messages import Command, EventEnvelope
from domains.shared.uow import Outcome
from producers.topics import Topics
from schemas.avro_codec import default_codec, encode
from tests.unit.fakes import FakeApp

NO_SESSION: Any = None  # command-issuing processors do not touch the consumer's transaction


def as_received(envelope: EventEnvelope) -> Received:
    """What the consumer loop hands a handler, built with the real Avro codec."""
    name, body = encode(envelope)
    return Received(
        topic=Topics().for_event(envelope.event),
        partition=0,
        offset=0,
        key=envelope.metadata.aggregate_id,
        headers={},
        schema_name=name,
        record={},
        body=body,
        writer_schema=default_codec().parsed_schema(name),
    )


def deps(app: FakeApp) -> Deps:
    return Deps(catalog=app.catalog, uow_factory=lambda: app.uow)


def lab_processors(app: FakeApp) -> list[Processor]:
    d = deps(app)
    return [routing.processor(app.catalog), completion.processor(d), reporting.processor(d)]


class PumpedApp(FakeApp):
    """A FakeApp whose every command is followed by the processors' reactions (default: the
    lab's routing, completion and reporting), breadth first, until quiet."""

    def __init__(self, *, processors: list[Processor] | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        chosen = lab_processors(self) if processors is None else processors
        self.handlers = [ProcessorHandler(p, Topics(), self._send) for p in chosen]
        self.seen = 0

    def _send(self, command: Command) -> Outcome:
        return super().handle(command)  # a reaction's command; drain() hands on its events

    def handle(self, command: Command) -> Outcome:
        outcome = super().handle(command)
        self.drain()
        return outcome

    def drain(self) -> None:
        committed = self.uow.committed
        while self.seen < len(committed):
            envelope = committed[self.seen]
            self.seen += 1
            for handler in self.handlers:
                handler.handle(as_received(envelope), NO_SESSION)

    def refused(self) -> int:
        return sum(h.refused for h in self.handlers)

    def pumped_bus(self) -> MessageBus:
        """A bus for code that takes one (``run_day``): its commands are pumped too."""
        return _PumpedBus(self)


class _PumpedBus(MessageBus):
    def __init__(self, app: PumpedApp) -> None:
        super().__init__(app.bus.uow_factory, app.bus.handlers)
        self.app = app

    def handle(self, command: Command, **_: Any) -> Outcome:
        return self.app.handle(command)
