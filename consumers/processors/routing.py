"""Routing: a received sample goes to the bench that runs its tests.

SAMPLE_RECEIVED -> RouteSample to the catalog's bench for the sample's tests (the bench that
runs most of them; a tie goes to the first test's bench, in the order the event lists them).
STAT first in each bench's worklist is the read model's business, not the route's.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable

from consumers.processors.base import Processor, command_for
from domains.catalog.model import Catalog
from domains.sample.commands import RouteSample
from domains.sample.events import SampleReceived
from domains.shared.messages import Command, EventEnvelope

NAME = "routing"


def bench_for(catalog: Catalog, loinc_codes: list[str]) -> tuple[str, str]:
    """(department, bench) that runs most of these tests."""
    benches = [(t.department, t.bench) for t in (catalog.get(code) for code in loinc_codes)]
    if not benches:
        raise ValueError("a sample without tests has no bench")
    counts = Counter(benches)
    return max(benches, key=lambda b: counts[b])  # max keeps the first of equals


def processor(catalog: Catalog) -> Processor:
    def route(envelope: EventEnvelope) -> Iterable[Command]:
        event = envelope.event
        assert isinstance(event, SampleReceived)
        department, bench = bench_for(catalog, event.loinc_codes)
        yield command_for(
            NAME, envelope, RouteSample, sample_id=event.sample_id, department=department,
            bench=bench,
        )  # fmt: skip

    return Processor(NAME, {SampleReceived: route})
