"""`lis replay` on a real simulated day: every event once, exact filters, Parquet, old schemas."""

from __future__ import annotations

import io
import json
import os
import subprocess
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import fastavro
import pyarrow.parquet as pq
import pytest
from confluent_kafka import Producer
from confluent_kafka.admin import AdminClient

from consumers.replay import ReplayFilter, ReplaySpec, replay
from infra.config.settings import Settings
from producers.kafka_config import producer_config
from schemas.avro_codec import committed_schema, current_schema, frame
from schemas.decoder import RegistryDecoder
from schemas.registry import avro_schema, registry_client, subject_for
from tests.integration.lab_day import PublishedDay, lab_day
from tests.integration.stack.test_stack_cli import lis_executable

pytestmark = pytest.mark.integration

ORGS = ("org-replay-a", "org-replay-b")


@pytest.fixture(scope="module")
def day(stack: Settings, module_database_url: str) -> Iterator[PublishedDay]:
    with lab_day(stack, module_database_url, organizations=ORGS, patients=2, seed=21) as day:
        yield day


def _lis_replay(day: PublishedDay, *args: str) -> subprocess.CompletedProcess[str]:
    s = day.settings
    env = {
        **os.environ,
        "LIS_TOPIC_NAMESPACE": s.topic_namespace,
        "LIS_SCHEMA_REGISTRY_URL": s.schema_registry_url,
        "LIS_KAFKA_BOOTSTRAP": s.kafka_bootstrap,
    }
    done = subprocess.run(
        [lis_executable(), "replay", "--no-progress", *args],
        capture_output=True, text=True, timeout=180, env=env, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    return done


def _iso(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, dict):
        return {k: _iso(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_iso(v) for v in value]
    return value


def _ids(events: list[dict[str, Any]]) -> list[str]:
    return sorted(e["metadata"]["event_id"] for e in events)


def _spec(day: PublishedDay, **filters: frozenset[str]) -> ReplaySpec:
    return ReplaySpec(topics=day.settings.topics().events, filter=ReplayFilter(**filters))


def _replayed(day: PublishedDay, spec: ReplaySpec) -> list[dict[str, Any]]:
    decoder = RegistryDecoder(day.settings.schema_registry_url, reader_for=current_schema)
    return [e.record for e in replay(day.settings.kafka_bootstrap, decoder, spec)]


def test_a_replayed_day_in_json_lines_holds_every_event_exactly_once_with_all_metadata(
    day: PublishedDay, tmp_path: Path
) -> None:
    out = tmp_path / "day.jsonl"
    _lis_replay(day, "-o", str(out))

    lines = [json.loads(line) for line in out.read_text().splitlines()]
    by_id = {e.metadata["event_id"]: e for e in day.events}
    assert len(lines) == day.published == len(by_id) > 100
    assert sorted(line["event"]["metadata"]["event_id"] for line in lines) == sorted(by_id)
    for line in lines:
        truth = by_id[line["event"]["metadata"]["event_id"]]
        assert line["event"] == _iso(truth.record)  # metadata and payload, field for field
        assert (line["topic"], line["partition"], line["offset"], line["key"]) == (
            truth.topic, truth.partition, truth.offset, truth.key,
        )  # fmt: skip
        assert line["headers"]["event_id"] == truth.metadata["event_id"]
        assert line["headers"]["correlation_id"] == truth.metadata["correlation_id"]
        assert line["schema_name"].startswith("lis.")
        assert isinstance(line["schema_id"], int)


def test_filtered_replays_return_exactly_the_matching_events(day: PublishedDay) -> None:
    truth = [e.record for e in day.events]
    flow = next(r for r in truth if r["metadata"]["event_type"] == "RESULT_ENTERED")["metadata"][
        "correlation_id"
    ]
    sample = next(r for r in truth if r["metadata"]["aggregate_type"] == "Sample")
    aggregate = sample["metadata"]["aggregate_id"]

    def where(**wanted: set[str]) -> list[dict[str, Any]]:
        return [r for r in truth if all(r["metadata"][k] in v for k, v in wanted.items())]

    types = {"RESULT_ENTERED", "SAMPLE_RECEIVED"}
    cases = [
        ({"event_types": frozenset(types)}, where(event_type=types)),
        ({"aggregate_ids": frozenset({aggregate})}, where(aggregate_id={aggregate})),
        ({"organizations": frozenset({ORGS[1]})}, where(organization_id={ORGS[1]})),
        ({"correlation_ids": frozenset({flow})}, where(correlation_id={flow})),
        (
            {"organizations": frozenset({ORGS[0]}), "event_types": frozenset({"ORDER_CREATED"})},
            where(organization_id={ORGS[0]}, event_type={"ORDER_CREATED"}),
        ),
    ]
    for filters, expected in cases:
        got = _replayed(day, _spec(day, **filters))
        assert expected, filters  # every case matches something, so none passes vacuously
        assert len(expected) < len(truth)
        assert _ids(got) == _ids(expected), filters
        assert len(got) == len(expected), filters  # none twice


def test_the_cli_filters_by_type_and_organization_as_the_library_does(
    day: PublishedDay, tmp_path: Path
) -> None:
    out = tmp_path / "criticals.jsonl"
    _lis_replay(day, "result", "--event-type", "CRITICAL_VALUE_DETECTED", "--org", ORGS[0],
                "-o", str(out))  # fmt: skip

    got = [json.loads(line)["event"] for line in out.read_text().splitlines()]
    expected = [
        e.record for e in day.events
        if e.metadata["event_type"] == "CRITICAL_VALUE_DETECTED"
        and e.metadata["organization_id"] == ORGS[0]
    ]  # fmt: skip
    assert _ids(got) == _ids(expected)


def test_a_parquet_replay_opens_in_pyarrow_with_the_same_rows(
    day: PublishedDay, tmp_path: Path
) -> None:
    out = tmp_path / "day.parquet"
    _lis_replay(day, "--format", "parquet", "-o", str(out))

    table = pq.read_table(out)
    rows = table.to_pylist()
    by_id = {e.metadata["event_id"]: e for e in day.events}
    assert table.num_rows == len(by_id)
    assert sorted(r["event_id"] for r in rows) == sorted(by_id)
    for row in rows:
        truth = by_id[row["event_id"]]
        for name in ("event_type", "aggregate_id", "aggregate_version", "organization_id",
                     "user_id", "correlation_id", "causation_id", "occurred_at"):  # fmt: skip
            assert row[name] == truth.metadata[name], name
        payload = {k: v for k, v in truth.record.items() if k != "metadata"}
        assert json.loads(row["payload"]) == _iso(payload)
        assert (row["topic"], row["partition"], row["offset"]) == (
            truth.topic, truth.partition, truth.offset,
        )  # fmt: skip


def test_offsets_and_a_time_window_bound_the_replay(day: PublishedDay) -> None:
    decoder = RegistryDecoder(day.settings.schema_registry_url, reader_for=current_schema)
    everything = list(replay(day.settings.kafka_bootstrap, decoder, _spec(day)))
    topic = day.settings.topics().for_aggregate("Result")
    # the busiest partition of the topic (keys are random ids: any one partition may be empty)
    busiest = Counter(e.partition for e in everything if e.topic == topic).most_common(1)[0][0]
    on_p0 = sorted(e.offset for e in everything if (e.topic, e.partition) == (topic, busiest))
    times = sorted({e.timestamp_ms for e in everything})
    since_ms, until_ms = times[len(times) // 3], times[2 * len(times) // 3]

    from_offset = list(
        replay(day.settings.kafka_bootstrap, decoder,
               ReplaySpec(topics=(topic,), starts={(topic, busiest): on_p0[len(on_p0) // 2]}))
    )  # fmt: skip
    window = list(
        replay(day.settings.kafka_bootstrap, decoder,
               ReplaySpec(topics=day.settings.topics().events,
                          since=datetime.fromtimestamp(since_ms / 1000, UTC),
                          until=datetime.fromtimestamp(until_ms / 1000, UTC)))
    )  # fmt: skip

    p0 = [e.offset for e in from_offset if e.partition == busiest]
    assert p0 == on_p0[len(on_p0) // 2 :]
    others = [e for e in from_offset if e.partition != busiest]
    assert len(others) == sum(1 for e in everything if e.topic == topic and e.partition != busiest)
    expected = sorted(e.record["metadata"]["event_id"] for e in everything
                      if since_ms <= e.timestamp_ms < until_ms)  # fmt: skip
    assert expected
    assert sorted(e.record["metadata"]["event_id"] for e in window) == expected


def test_an_event_written_with_an_older_schema_replays_with_the_new_field_defaulted(
    day: PublishedDay,
) -> None:
    settings = day.settings
    topic = settings.topics().for_aggregate("Sample")
    today = committed_schema(_sample_collected())
    added = next(f for f in reversed(today["fields"]) if "default" in f)  # the newest optional
    older = {**today, "fields": [f for f in today["fields"] if f["name"] != added["name"]]}
    client = registry_client(settings.schema_registry_url)
    old_id = client.register_schema(subject_for(topic, "lis.sample.SampleCollected"),
                                    avro_schema(older))  # fmt: skip
    original = next(e for e in day.events if e.metadata["event_type"] == "SAMPLE_COLLECTED")
    record = {k: v for k, v in original.record.items() if k != added["name"]}
    record["metadata"] = {**record["metadata"], "event_id": "old-writer-event-0001"}
    body = io.BytesIO()
    fastavro.schemaless_writer(body, fastavro.parse_schema(older, named_schemas={}), record)
    # The project's producer settings: murmur2, so the key lands where its aggregate lives.
    producer = Producer(producer_config(settings.kafka_bootstrap))
    producer.produce(topic, frame(old_id, body.getvalue()), key=original.key)
    assert producer.flush(30) == 0

    got = _replayed(day, _spec(day, aggregate_ids=frozenset({original.key})))

    replayed = next(r for r in got if r["metadata"]["event_id"] == "old-writer-event-0001")
    assert added["name"] in replayed
    assert replayed[added["name"]] == added["default"]
    assert {k: v for k, v in replayed.items() if k not in {added["name"], "metadata"}} == {
        k: v for k, v in record.items() if k != "metadata"
    }


def test_a_replay_leaves_no_consumer_group_behind(day: PublishedDay) -> None:
    _replayed(day, _spec(day, event_types=frozenset({"ORDER_CREATED"})))

    admin = AdminClient({"bootstrap.servers": day.settings.kafka_bootstrap})
    groups = admin.list_consumer_groups(request_timeout=30).result()
    assert "lis-replay-unused" not in {g.group_id for g in groups.valid}


def _sample_collected() -> Any:
    from domains.sample.events import SampleCollected

    return SampleCollected
