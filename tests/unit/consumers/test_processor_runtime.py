"""The processor runtime on fakes: reactions become commands with derived ids and the event's
flow ids, a redelivery changes nothing, and the domain's refusal is an answer, not poison."""

from __future__ import annotations

import pytest

from consumers.base import TransientError
from consumers.processors import routing
from consumers.processors.base import ProcessorHandler, command_for
from domains.sample.commands import RejectSample, RouteSample
from domains.sample.events import SampleCollected, SampleReceived, SampleRouted
from domains.sample.model import Sample
from domains.shared.errors import ConcurrencyConflict
from domains.shared.ids import derived_id
from domains.shared.messages import Command, EventEnvelope
from domains.shared.uow import Outcome
from producers.topics import Topics
from tests.unit.domains.conftest import ORG, order, received_sample, register
from tests.unit.fakes import FakeApp
from tests.unit.processor_pump import NO_SESSION, as_received


def received_event(app: FakeApp) -> EventEnvelope:
    patient = register(app)["patient_id"]
    received_sample(app, order(app, patient, "2823-3", "2951-2"))
    return next(e for e in app.uow.committed if isinstance(e.event, SampleReceived))


def routing_handler(app: FakeApp) -> ProcessorHandler:
    return ProcessorHandler(routing.processor(app.catalog), Topics(), app.handle)


def test_a_received_sample_is_routed_by_a_command_caused_by_the_event() -> None:
    app = FakeApp()
    received = received_event(app)
    handler = routing_handler(app)

    handler.handle(as_received(received), NO_SESSION)

    routed = [e for e in app.uow.committed if isinstance(e.event, SampleRouted)]
    assert len(routed) == 1
    meta = routed[0].metadata
    assert meta.causation_id == received.metadata.event_id
    assert meta.correlation_id == received.metadata.correlation_id
    assert meta.organization_id == ORG
    assert meta.user_id is None
    sample = app.load(Sample, received.metadata.aggregate_id)
    assert (sample.status, sample.department, sample.bench) == (
        "routed", "biochemistry", "chemistry-analyzer",
    )  # fmt: skip


def test_a_redelivered_event_replays_the_first_outcome_and_publishes_nothing_new() -> None:
    app = FakeApp()
    received = received_event(app)
    handler = routing_handler(app)
    handler.handle(as_received(received), NO_SESSION)
    published = len(app.uow.committed)

    handler.handle(as_received(received), NO_SESSION)

    assert len(app.uow.committed) == published
    assert (handler.sent, handler.refused) == (2, 0)  # the second answered from the log


def test_a_command_the_domain_refuses_is_counted_not_raised() -> None:
    app = FakeApp()
    received = received_event(app)
    sample_id = received.metadata.aggregate_id
    app.handle(RejectSample(organization_id=ORG, sample_id=sample_id, reason_code="clotted"))
    handler = routing_handler(app)

    handler.handle(as_received(received), NO_SESSION)

    assert (handler.sent, handler.refused) == (0, 1)
    assert app.load(Sample, sample_id).status == "rejected"


class Racing:
    """The bus, with another writer saving the sample first ``losses`` times (the fake's own
    optimistic check raises the same error: nothing written, nothing logged)."""

    def __init__(self, app: FakeApp, losses: int) -> None:
        self.app, self.losses, self.calls = app, losses, 0

    def __call__(self, command: Command) -> Outcome:
        self.calls += 1
        if self.calls <= self.losses:
            raise ConcurrencyConflict("Sample", "s", 2)
        return self.app.handle(command)


def test_a_command_that_lost_a_race_is_sent_again_not_counted_as_refused() -> None:
    app = FakeApp()
    received = received_event(app)
    send = Racing(app, losses=2)
    handler = ProcessorHandler(routing.processor(app.catalog), Topics(), send)

    handler.handle(as_received(received), NO_SESSION)

    assert (handler.sent, handler.refused, send.calls) == (1, 0, 3)
    assert app.load(Sample, received.metadata.aggregate_id).status == "routed"


def test_a_command_that_keeps_losing_races_has_its_event_retried_not_dropped() -> None:
    app = FakeApp()
    received = received_event(app)
    handler = ProcessorHandler(routing.processor(app.catalog), Topics(), Racing(app, 99))

    with pytest.raises(TransientError):  # the consumer loop retries the event, read afresh
        handler.handle(as_received(received), NO_SESSION)

    assert (handler.sent, handler.refused) == (0, 0)
    assert app.load(Sample, received.metadata.aggregate_id).status == "received"
    handler = routing_handler(app)  # the race is over: the retried event routes the sample
    handler.handle(as_received(received), NO_SESSION)
    assert app.load(Sample, received.metadata.aggregate_id).status == "routed"


def test_command_ids_derive_from_the_processor_and_the_event() -> None:
    app = FakeApp()
    received = received_event(app)
    fields = {"sample_id": "s", "department": "d", "bench": "b"}
    one = command_for("routing", received, RouteSample, **fields)
    other = command_for("other", received, RouteSample, **fields)
    second_part = command_for("routing", received, RouteSample, part="2", **fields)
    assert one.command_id == derived_id("routing", received.metadata.event_id)
    assert len({one.command_id, other.command_id, second_part.command_id}) == 3


def test_events_it_has_no_reaction_for_are_skipped() -> None:
    app = FakeApp()
    received_event(app)
    collected = next(e for e in app.uow.committed if isinstance(e.event, SampleCollected))
    handler = routing_handler(app)
    published = len(app.uow.committed)

    handler.handle(as_received(collected), NO_SESSION)

    assert (len(app.uow.committed), handler.sent) == (published, 0)


def test_a_processor_reads_only_the_topics_of_its_events() -> None:
    app = FakeApp()
    handler = ProcessorHandler(routing.processor(app.catalog), Topics("lab"), app.handle)
    assert list(handler.topics) == ["lab.sample.events"]
