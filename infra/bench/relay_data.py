"""The benchmark's outbox: SAMPLE_COLLECTED events of real shape, COPYed into a database."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta

import psycopg

from domains.sample.events import SampleCollected
from domains.shared.messages import Command, stamp
from producers.relay import libpq_url
from schemas.avro_codec import encode
from schemas.fingerprints import writer_fingerprint

Row = tuple[str, str, bytes, dict[str, str]]  # key, event_id, Avro body, headers

SCHEMA = "lis.sample.SampleCollected"
_COLUMNS = (
    "event_id, organization_id, aggregate_type, aggregate_id, aggregate_version, event_type, "
    "topic, key, headers, schema_name, schema_fingerprint, payload"
)


def make_rows(events: int, aggregates: int) -> list[Row]:
    """SAMPLE_COLLECTED events of real shape (~300 B), round-robin over ``aggregates`` keys."""
    cmd = Command(organization_id="org-bench-lab-0001", user_id="phlebotomist-0042")
    base = datetime(2026, 11, 22, 7, 30, tzinfo=UTC)
    sample_ids = [str(uuid.uuid4()) for _ in range(aggregates)]
    rows: list[Row] = []
    for i in range(events):
        sample_id = sample_ids[i % aggregates]
        event = SampleCollected(
            sample_id=sample_id,
            order_id=str(uuid.uuid4()),
            patient_id=str(uuid.uuid4()),
            accession_number=f"ACC-2026-{i:08d}",
            specimen_type="serum" if i % 3 else "whole_blood",
            container="SST gold top 5 mL" if i % 3 else "EDTA lavender top 4 mL",
            priority="STAT" if i % 10 == 0 else "ROUTINE",
            collected_at=base + timedelta(seconds=i),
            loinc_codes=["2345-7", "2160-0", "718-7", "6690-2"][: 1 + i % 4],
            collected_by="phlebotomist-0042",
        )
        env = stamp(
            event, aggregate_id=sample_id, aggregate_version=1 + i // aggregates, command=cmd
        )
        _, body = encode(env)
        meta = env.metadata
        headers = {
            "event_type": meta.event_type,
            "event_id": meta.event_id,
            "correlation_id": meta.correlation_id,
            "causation_id": meta.causation_id,
        }
        rows.append((sample_id, meta.event_id, body, headers))
    return rows


def copy_into_outbox(database_url: str, topic: str, rows: list[Row], aggregates: int) -> None:
    fingerprint = writer_fingerprint(encode, SCHEMA)
    with (
        psycopg.connect(libpq_url(database_url)) as conn,
        conn.cursor() as cur,
        cur.copy(f"COPY outbox ({_COLUMNS}) FROM STDIN") as copy,
    ):
        for i, (key, event_id, body, headers) in enumerate(rows):
            copy.write_row(
                    (event_id, "org-bench-lab-0001", "Sample", key, 1 + i // aggregates,
                     "SAMPLE_COLLECTED", topic, key, json.dumps(headers),
                     SCHEMA, fingerprint, body)
                )  # fmt: skip
