"""Where the worker's time goes: each step of the read-model processor timed alone on the same
messages, in memory, beside the raw loop's decode (``lis bench worker`` prints it)."""

from __future__ import annotations

import io
import json
import time
import uuid
from collections.abc import Mapping
from typing import Any

import fastavro
import redis
from confluent_kafka import Consumer, Message

from consumers.base import checked_event_id, header
from consumers.kafka_config import consumer_config
from consumers.read_models.ops import coalesce
from consumers.read_models.projection import project
from infra.config.settings import Settings
from infra.redis.store import RedisReadModelStore
from infra.redis.views import clear
from schemas.avro_codec import unframe
from schemas.decoder import RegistryDecoder

STAGE_EVENTS = 20_000


def stages(settings: Settings, topic: str, client: redis.Redis[bytes]) -> dict[str, float]:
    """Each step of the processor, timed alone on the same messages (CPU time of this process;
    Redis's own time from its command statistics, EVALSHA's microseconds before and after)."""
    group = settings.topics().group(f"bench-stages-{uuid.uuid4().hex[:8]}")
    consumer = Consumer(consumer_config(settings.kafka_bootstrap, group))
    consumer.subscribe([topic])
    messages: list[Message] = []
    try:
        while len(messages) < STAGE_EVENTS:
            messages += [m for m in consumer.consume(5000, 1.0) if m.error() is None]
    finally:
        consumer.close()
    messages = messages[:STAGE_EVENTS]
    decoder = RegistryDecoder(settings.schema_registry_url)
    store = RedisReadModelStore(client, f"bench:stages:{uuid.uuid4().hex[:6]}:")
    best: dict[str, float] = {}

    def timed(name: str, started: float) -> None:
        spent = (time.process_time() - started) / len(messages) * 1e6
        best[name] = min(best.get(name, spent), spent)

    for _ in range(3):
        started = time.process_time()
        for msg in messages:  # what the raw loop does
            schema_id, body = unframe(msg.value() or b"")
            fastavro.schemaless_reader(io.BytesIO(body), decoder.writer_schema(schema_id))
        timed("raw decode", started)
        started = time.process_time()
        records = []
        for msg in messages:
            decoded = decoder.decode(msg.value())
            checked_event_id(decoded.record, header(msg, "event_id"))
            records.append((decoded.schema_name, decoded.record))
        timed("decode+check", started)
        started = time.process_time()
        ops = [project(name, record) for name, record in records]
        timed("project", started)
        started = time.process_time()
        batches = [
            coalesce(o for e in ops[i : i + 2000] for o in e) for i in range(0, len(ops), 2000)
        ]
        timed("coalesce", started)
        started = time.process_time()
        for batch in batches:
            json.dumps(batch, separators=(",", ":"))
        timed("json", started)
        before = _evalsha_usec(client)
        for batch in batches:
            store.apply(batch)
        spent = (_evalsha_usec(client) - before) / len(messages)
        best["redis (server)"] = min(best.get("redis (server)", spent), spent)
        clear(client, store.prefix)
    return best


def _evalsha_usec(client: redis.Redis[bytes]) -> float:
    stats: Mapping[str, Any] = client.info("commandstats")
    return float(stats.get("cmdstat_evalsha", {}).get("usec", 0))
