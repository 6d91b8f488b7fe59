"""Events for the worker benchmark (and the worker tests): real events of simulated days, copied
with fresh ids until there are enough, and written once to Kafka in the wire format.

A copy replaces every UUID in a record (aggregate, event, correlation and causation ids, the
ids that link aggregates) with one derived from the copy number, and numbers the per-tenant
identifiers (MRN, accession, placer order number), so each copy is a new set of patients,
orders and samples with the same shape, versions and links as the original day.
"""

from __future__ import annotations

import io
import re
import uuid
from collections.abc import Callable, Iterable, Iterator
from typing import Any

import fastavro
from confluent_kafka import Consumer, KafkaError, Producer

from consumers.flow_reader import watermarks
from consumers.read_models.projection import AGGREGATES
from infra.config.settings import Settings
from producers.kafka_config import producer_config
from schemas.avro_codec import default_codec, frame
from schemas.catalog import event_classes
from schemas.decoder import RegistryDecoder

Item = tuple[str, dict[str, Any]]  # (record full name, decoded record)
_UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
_NUMBERED = frozenset({"mrn", "accession_number", "placer_order_number"})
_COPIES = uuid.UUID("0f6d0c8e-6a55-4f57-9d0e-3b1c2a4e5f60")


def copy_record(value: Any, copy: int, field: str = "") -> Any:
    if isinstance(value, dict):
        return {k: copy_record(v, copy, k) for k, v in value.items()}
    if isinstance(value, list):
        return [copy_record(v, copy, field) for v in value]
    if isinstance(value, str):
        if _UUID.match(value):
            return str(uuid.uuid5(_COPIES, f"{copy}/{value}"))
        if field in _NUMBERED:
            return f"{value}-{copy}"
    return value


def copies(items: list[Item], events: int) -> Iterator[Item]:
    """``events`` events: the items copied again and again, each copy in the original order."""
    if not items:
        raise ValueError("no events to copy")
    for n in range(events):
        copy, i = divmod(n, len(items))
        name, record = items[i]
        yield name, copy_record(record, copy)


def write_events(
    bootstrap: str,
    items: Iterable[Item],
    *,
    topic_for: Callable[[str], str],
    schema_id_for: Callable[[str], int],
) -> int:
    """Produce each record framed with its schema id, keyed by its aggregate, headers as the
    relay sets them; returns the count once every message is acknowledged."""
    codec = default_codec()
    producer = Producer(producer_config(bootstrap))
    count = 0
    for name, record in items:
        buf = io.BytesIO()
        fastavro.schemaless_writer(buf, codec.parsed_schema(name), record)
        meta = record["metadata"]
        headers: list[tuple[str, str | bytes | None]] = [
            (k, str(meta[k]).encode())
            for k in ("event_type", "event_id", "correlation_id", "causation_id")
        ]
        value = frame(schema_id_for(name), buf.getvalue())
        while True:
            try:
                producer.produce(
                    topic_for(name), value, meta["aggregate_id"].encode(), headers=headers
                )
                break
            except BufferError:
                producer.poll(0.05)
        count += 1
    if producer.flush(120):
        raise RuntimeError("events not acknowledged within 120 s")
    return count


def source_items(settings: Settings) -> list[Item]:
    """Every read-model event of the namespace, decoded onto today's schemas."""
    topics = settings.topics()
    wanted = [topics.for_aggregate(a) for a in AGGREGATES]
    ends = {
        (tp.topic, tp.partition): tp.offset for tp in watermarks(settings.kafka_bootstrap, wanted)
    }
    todo = [
        tp
        for tp in watermarks(settings.kafka_bootstrap, wanted, end=False)
        if ends[(tp.topic, tp.partition)] > tp.offset
    ]
    decoder, codec = RegistryDecoder(settings.schema_registry_url), default_codec()
    known = event_classes()
    items: list[Item] = []
    consumer = Consumer(
        {
            "bootstrap.servers": settings.kafka_bootstrap,
            "group.id": "lis-bench-source",
            "enable.auto.commit": False,
            "enable.partition.eof": True,
        }
    )
    remaining = {(tp.topic, tp.partition) for tp in todo}
    try:
        if todo:
            consumer.assign(todo)
        while remaining:
            for msg in consumer.consume(5000, 1.0):
                where = (str(msg.topic()), int(msg.partition() or 0))
                if (err := msg.error()) is not None:
                    if err.code() == KafkaError._PARTITION_EOF:
                        remaining.discard(where)
                    continue
                if int(msg.offset() or 0) + 1 >= ends[where]:
                    remaining.discard(where)
                try:
                    decoded = decoder.decode(msg.value())
                except Exception:  # noqa: S112 - poison is no benchmark material
                    continue
                if decoded.schema_name not in known:
                    continue
                reader = codec.parsed_schema(decoded.schema_name)
                record = fastavro.schemaless_reader(
                    io.BytesIO(decoded.body), decoded.writer_schema, reader
                )
                if isinstance(record, dict):
                    items.append((decoded.schema_name, record))
    finally:
        consumer.close()
    return items
