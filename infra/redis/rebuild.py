"""Rebuild the read models from the topics into a given Redis database and key prefix, and
compare two models: what ``lis projections rebuild`` / ``verify`` stand on.

``rebuild_read_models(settings, redis_url, prefix)`` empties the read-model keys under
``prefix`` in that database first (a rebuild starts from nothing), then projects every event of
the namespace's topics as the live worker does. ``differences(a, b)`` names the keys whose
content differs between two ``views.dump`` results.
"""

from __future__ import annotations

import hashlib
import json
from datetime import datetime
from typing import Any

from consumers.read_models.handler import ReadModelHandler
from consumers.read_models.rebuild import RebuildReport, rebuild
from infra.config.settings import Settings
from infra.redis.store import RedisReadModelStore, redis_client
from infra.redis.views import clear
from schemas.decoder import RegistryDecoder


def rebuild_read_models(
    settings: Settings, redis_url: str, prefix: str, *, until: datetime | None = None
) -> RebuildReport:
    client = redis_client(redis_url)
    try:
        clear(client, prefix)
        return rebuild(
            settings.kafka_bootstrap,
            RegistryDecoder(settings.schema_registry_url),
            ReadModelHandler.topics_of(settings.topics()),
            RedisReadModelStore(client, prefix),
            until=until,
        )
    finally:
        client.close()


def checksum(model: dict[str, Any]) -> str:
    """SHA-256 of a ``views.dump``, canonical (sorted keys): equal models, equal checksums."""
    text = json.dumps(model, sort_keys=True, separators=(",", ":"), default=list)
    return hashlib.sha256(text.encode()).hexdigest()


def differences(live: dict[str, Any], rebuilt: dict[str, Any]) -> list[str]:
    """Keys missing from either side or holding different content, sorted."""
    keys = set(live) | set(rebuilt)
    return sorted(k for k in keys if live.get(k) != rebuilt.get(k))
