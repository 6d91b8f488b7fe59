"""Sample events (topic ``lis.sample.events``)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from domains.shared.messages import Event


@dataclass(frozen=True, kw_only=True)
class SampleCollected(Event):
    event_type = "SAMPLE_COLLECTED"
    aggregate_type = "Sample"

    sample_id: str
    order_id: str
    patient_id: str
    accession_number: str
    specimen_type: str
    container: str
    priority: str
    collected_at: datetime
    loinc_codes: list[str] = field(default_factory=list)
    collected_by: str | None = None


@dataclass(frozen=True, kw_only=True)
class SampleReceived(Event):
    event_type = "SAMPLE_RECEIVED"
    aggregate_type = "Sample"

    sample_id: str
    order_id: str
    accession_number: str
    specimen_type: str
    priority: str
    received_at: datetime
    # the routing processor picks the bench from these without loading the order
    loinc_codes: list[str] = field(default_factory=list)


@dataclass(frozen=True, kw_only=True)
class SampleRejected(Event):
    event_type = "SAMPLE_REJECTED"
    aggregate_type = "Sample"

    sample_id: str
    order_id: str
    patient_id: str
    accession_number: str
    reason_code: str  # hemolyzed | clotted | insufficient_quantity | mislabeled | ...
    recollection_required: bool
    reason_text: str | None = None


@dataclass(frozen=True, kw_only=True)
class SampleRouted(Event):
    event_type = "SAMPLE_ROUTED"
    aggregate_type = "Sample"

    sample_id: str
    order_id: str
    accession_number: str
    department: str
    bench: str
